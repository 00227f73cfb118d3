// The suites that end with CI's line "N passed, N failed" (test:dist, test:objects): each check
// printed as it is decided, and counted.
export function createTally(): { record(check: string, ok: boolean, detail?: string): void; readonly passed: number; readonly failed: number; summary(): string } {
  let passed = 0;
  let failed = 0;
  return {
    record(check, ok, detail = '') {
      if (ok) passed++;
      else failed++;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${check}${detail ? ` (${detail})` : ''}`);
    },
    get passed() {
      return passed;
    },
    get failed() {
      return failed;
    },
    summary: () => `${passed} passed, ${failed} failed`,
  };
}
