import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const runPython = promisify(execFile);

/** Whether python3 with the requests package is available (seed clients are Python). */
export async function pythonWithRequests(): Promise<boolean> {
  try {
    await runPython('python3', ['-c', 'import requests']);
    return true;
  } catch {
    return false;
  }
}
