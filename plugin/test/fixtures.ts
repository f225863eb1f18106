// Answers of the results service as tests need them: a valid default, changed per test.

import type {ChecksData, CIData, ResultData} from '../src/response';
import type {ReviewPoster} from '../src/runs';

export const REPORTED_AT = '2026-12-06T10:00:00+00:00';

export function result(overrides: Partial<ResultData> = {}): ResultData {
  return {
    id: 'result-1',
    ci: 'Acme CI',
    project: 'sandbox/p',
    branch: 'main',
    change: 12,
    patchset: 3,
    revision: null,
    job: 'tempest',
    value: 'passed',
    url: 'https://logs.example.org/12/3/tempest/',
    duration: 182,
    duration_text: '3m 2s',
    voting: true,
    category: null,
    rerun: false,
    comment: null,
    reported_at: REPORTED_AT,
    ...overrides,
  };
}

export function ci(overrides: Partial<CIData> = {}): CIData {
  return {
    name: 'Acme CI',
    info_url: 'https://ci.example.org/acme',
    expected: true,
    rerun_comment: null,
    results: [result()],
    ...overrides,
  };
}

export function checksData(cis: CIData[], overrides: Partial<ChecksData> = {}): ChecksData {
  return {
    change: 12,
    patchset: 3,
    project: 'sandbox/p',
    page_url: 'https://results.example.org/changes/12',
    cis,
    ...overrides,
  };
}

export interface Posted {
  url: string;
  payload: unknown;
}

/** Records what the plugin posts through Gerrit's REST API; fails when told to. */
export function fakeRest(failWith?: Error): ReviewPoster & {posted: Posted[]} {
  const posted: Posted[] = [];
  return {
    posted,
    post<T>(url: string, payload?: string | object): Promise<T> {
      posted.push({url, payload});
      return failWith ? Promise.reject(failWith) : Promise.resolve({} as T);
    },
  };
}
