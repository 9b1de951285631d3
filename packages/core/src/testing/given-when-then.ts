import { expect } from 'vitest'

type ErrorClass = abstract new (...args: never[]) => Error

/**
 * Reads a test of a pure decision as a sentence:
 *   given(aPost()).when((p) => editPost(p, 'bob', {})).thenThrows(NotPostWriter)
 */
export function given<S>(state: S) {
  return {
    when<R>(act: (state: S) => R) {
      const run = (): { value?: R; error?: unknown } => {
        try {
          return { value: act(state) }
        } catch (error) {
          return { error }
        }
      }
      return {
        thenExpect(assert: (result: R) => void): void {
          const outcome = run()
          if ('error' in outcome && outcome.error !== undefined) throw outcome.error
          assert(outcome.value as R)
        },
        thenThrows(errorClass: ErrorClass, code?: string): void {
          const outcome = run()
          expect(outcome.error, 'expected the decision to throw').toBeInstanceOf(errorClass)
          if (code) expect((outcome.error as { code?: string }).code).toBe(code)
        },
      }
    },
  }
}
