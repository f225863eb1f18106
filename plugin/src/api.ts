// Talks to the crosscheck results service, and turns every way that can go wrong into one
// sentence for the Checks tab: the tab is where a Gerrit user (or admin) will first see that
// the plugin and the service are not set up for each other.

import type {ChecksConfig} from './config';
import {readChecksData, type ChecksData} from './response';
import {cap} from './text';

/** A proxy's or framework's error text can be long; the Checks tab shows one line. */
const DETAIL_MAX = 500;

/** The subset of window.fetch used here, so tests can hand in their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type ApiAnswer = {ok: true; data: ChecksData} | {ok: false; problem: string};

export interface PatchsetRef {
  changeNumber: number;
  patchsetNumber: number;
  repo: string;
}

export function checksUrl(resultsUrl: string, ref: PatchsetRef): string {
  return (
    `${resultsUrl}/api/v1/changes/${ref.changeNumber}` +
    `/patchsets/${ref.patchsetNumber}/checks?project=${encodeURIComponent(ref.repo)}`
  );
}

export async function fetchChecks(
  config: ChecksConfig,
  ref: PatchsetRef,
  fetchImpl: FetchLike
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {Accept: 'application/json'};
  if (config.readToken !== null) headers['Authorization'] = `Bearer ${config.readToken}`;
  let response: Response;
  try {
    response = await fetchImpl(checksUrl(config.resultsUrl, ref), {
      method: 'GET',
      headers,
      // Results change under us while the page is open; a cached answer would hide them.
      cache: 'no-store',
      // The service authenticates by token only; Gerrit's cookies are none of its business.
      credentials: 'omit',
    });
  } catch {
    // A browser reports a refused CORS request exactly like a network failure.
    return {
      ok: false,
      problem:
        `Could not reach the crosscheck results service at ${config.resultsUrl}. ` +
        "If it is up, check that this Gerrit's origin is listed in the service's " +
        'gerrit-origins setting (otherwise the browser refuses the answer).',
    };
  }
  if (!response.ok) return {ok: false, problem: await describeRefusal(config, response)};
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return {
      ok: false,
      problem:
        `The crosscheck results service at ${config.resultsUrl} ` +
        'answered with something other than JSON.',
    };
  }
  const data = readChecksData(body);
  if (typeof data === 'string') {
    return {
      ok: false,
      problem:
        `Unexpected answer from the crosscheck results service at ${config.resultsUrl}: ` +
        `${data}.`,
    };
  }
  return {ok: true, data};
}

async function describeRefusal(config: ChecksConfig, response: Response): Promise<string> {
  const detail = await detailOf(response);
  const said = detail === null ? '' : `: ${detail}`;
  const where = `The crosscheck results service at ${config.resultsUrl}`;
  if (response.status === 401) {
    const hint =
      config.readToken === null
        ? 'it requires a read token, and this plugin file has none'
        : 'it did not accept the read token in this plugin file';
    return `${where} refused the request (${hint})${said}`;
  }
  if (response.status === 403) {
    return `${where} refused the read token in this plugin file${said}`;
  }
  return `${where} answered HTTP ${response.status}${said}`;
}

/** The service's {"detail": "..."} when it is text; anything else says nothing useful. */
async function detailOf(response: Response): Promise<string | null> {
  try {
    const body: unknown = await response.json();
    if (typeof body === 'object' && body !== null && 'detail' in body) {
      const detail = (body as {detail: unknown}).detail;
      if (typeof detail === 'string' && detail.trim() !== '') return cap(detail.trim(), DETAIL_MAX);
    }
  } catch {
    // Not JSON (a proxy's error page, say): the status alone will have to do.
  }
  return null;
}
