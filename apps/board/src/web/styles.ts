/**
 * The whole style sheet, inlined in every page's head: small enough that a request for it would cost more
 * than it saves, and no web fonts or images, so nothing arrives late and shifts the layout. Colours keep
 * a contrast of at least 4.5:1 in both schemes.
 */
export const STYLES = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--link:#0645ad;--accent:#0b57d0;--on-accent:#fff;--border:#c8c8c8;--alert-bg:#fdecea;--alert-fg:#8a1c12;--focus:#0b57d0}
@media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#ececec;--muted:#b3b3b3;--link:#8ab4f8;--accent:#8ab4f8;--on-accent:#121212;--border:#555;--alert-bg:#3b1412;--alert-fg:#ffb4ab;--focus:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;line-height:1.5;background:var(--bg);color:var(--fg)}
header,main{max-width:46rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;border-bottom:1px solid var(--border)}
main{padding-bottom:4rem}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.site{font-weight:700;font-size:1.25rem;text-decoration:none}
nav ul{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem .75rem;list-style:none;margin:0;padding:0}
nav a,.site{display:inline-flex;align-items:center;min-height:44px}
[aria-current=page]{font-weight:700;text-decoration:none}
.badge{display:inline-block;min-width:3ch;margin-left:.25rem;padding:0 .25rem;border-radius:1em;background:var(--accent);color:var(--on-accent);text-align:center;font-variant-numeric:tabular-nums}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
button,input,textarea{font:inherit;min-height:44px}
button{padding:.5rem 1rem;border:1px solid var(--accent);border-radius:.375rem;background:var(--accent);color:var(--on-accent);cursor:pointer}
button.secondary{background:transparent;color:var(--link);border-color:var(--border)}
label{display:block;margin-top:1rem;font-weight:600}
input,textarea{width:100%;padding:.5rem;border:1px solid var(--muted);border-radius:.375rem;background:var(--bg);color:var(--fg)}
textarea{min-height:8rem;resize:vertical}
form>button{margin-top:1rem}
.actions{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.actions form{margin:0}
.muted{color:var(--muted)}
.content{white-space:pre-wrap;overflow-wrap:anywhere}
.items{list-style:none;padding:0}
.items>li{padding:.75rem 0;border-bottom:1px solid var(--border);overflow-wrap:anywhere}
.alert{margin:1rem 0;padding:.5rem 1rem;border:2px solid var(--alert-fg);border-radius:.375rem;background:var(--alert-bg);color:var(--alert-fg)}
.alert ul{margin:.25rem 0 0;padding-left:1.25rem}
.toast{position:fixed;bottom:1rem;left:50%;transform:translateX(-50%);width:max-content;max-width:calc(100% - 2rem);margin:0;padding:.5rem 1rem;border-radius:.375rem;background:var(--fg);color:var(--bg)}
.toast:empty{padding:0}
summary{min-height:44px;display:flex;align-items:center;cursor:pointer;color:var(--link)}
`
