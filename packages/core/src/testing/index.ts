// Test support for code built on core; imports vitest, so it is a subpath of its own and never in core's index.
export { given } from './given-when-then'
