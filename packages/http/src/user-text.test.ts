import { describe, expect, it } from 'vitest'
import { hasVisible, userText, uuid } from './user-text'

const title = userText(1, 10)
const body = userText(1, 100, { multiline: true })

describe('user text', () => {
  it('trims and normalises to NFC, counting code points', () => {
    expect(title.parse('  cafe\u0301 ')).toBe('café')
    expect(title.parse('👩‍👩‍👧')).toBe('👩‍👩‍👧') // 5 code points, within 10
    expect(title.safeParse('😀'.repeat(11)).success).toBe(false)
  })

  it('refuses NUL, other control characters and lone surrogates', () => {
    for (const bad of ['a\u0000b', 'a\u0007b', 'a\u009Fb', 'a\uD800b', 'a\uDC00', '\uD83D']) expect(title.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
  })

  it('refuses bidirectional overrides, embeddings and isolates unless allowed, and takes right-to-left text as it is', () => {
    for (const bad of ['evil\u202Etxt.exe', 'a\u202Ab', 'a\u2066b\u2069', 'a\u2068b', 'a\u200Fb', 'a\u200Eb', 'a\u061Cb']) {
      expect(title.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
      expect(body.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
    expect(userText(1, 100, { multiline: true, bidiControls: true }).parse('a\u202Bשלום\u202C')).toBe('a\u202Bשלום\u202C')
    expect(title.parse('שלום עולם')).toBe('שלום עולם')
  })

  it('allows line breaks and tabs only where text is multi-line', () => {
    expect(body.parse('one\ntwo\tthree')).toBe('one\ntwo\tthree')
    expect(title.safeParse('one\ntwo').success).toBe(false)
  })

  it('refuses what is empty once trimmed, or nothing but invisible format characters', () => {
    expect(title.safeParse('   ').success).toBe(false)
    expect(title.safeParse('\u200b\u200d').success).toBe(false)
    expect(title.parse('a\u200db')).toBe('a\u200db')
    // Letters and symbols that render blank, and combining marks with nothing to combine with.
    for (const blank of ['\u3164\u3164', '\u2800', '\u115F\u1160', '\uFFA0', '\u0301\u0308']) expect(title.safeParse(blank).success, JSON.stringify(blank)).toBe(false)
    expect(title.parse('e\u0301')).toBe('\u00e9')
    expect(hasVisible('a\u200b'.repeat(8), 8)).toBe(true)
    expect(hasVisible('\u200b'.repeat(8) + 'abc', 8)).toBe(false)
  })

  it('takes UUIDs in any case and gives them back in lower case', () => {
    expect(uuid.parse('0190A8F2-0000-7000-8000-00000000000A')).toBe('0190a8f2-0000-7000-8000-00000000000a')
    expect(uuid.safeParse('not-a-uuid').success).toBe(false)
  })
})
