// The crosscheck server hands this file out with its own settings written into it, so a
// Gerrit admin drops one file into plugins/ and nothing in Gerrit needs configuring.

import {safeHttpUrl} from './urls';

/**
 * The server replaces this string literal, quotes included, with a JS string literal of
 * JSON. It must stay the only occurrence of its text in the built file, so nothing else
 * here spells it out. The `string` annotation keeps TypeScript from narrowing it to the
 * placeholder's literal type.
 */
export const RAW_CONFIG: string = "__CROSSCHECK_CHECKS_CONFIG__";

export interface ChecksConfig {
  /** The results service's base URL, without trailing slashes. */
  resultsUrl: string;
  /** Sent as a bearer token when the service requires one for reads. */
  readToken: string | null;
  /** How often Gerrit asks again while a change is on screen; 0 turns polling off. */
  pollSeconds: number;
}

export type LoadedConfig =
  | {ok: true; config: ChecksConfig}
  | {ok: false; problem: string};

export const DEFAULT_POLL_SECONDS = 60;

const HOW_TO_GET_ONE =
  "download it from your crosscheck results service's /plugins/crosscheck-checks.js, " +
  'or generate it with "crosscheck checks plugin"';

/** Reads the injected configuration; never throws, so a broken file still explains itself. */
export function parseConfig(raw: string): LoadedConfig {
  // A placeholder is upper-case letters and underscores only, which JSON never is.
  if (/^__[A-Z_]+__$/.test(raw)) {
    return notConfigured('this copy of crosscheck-checks.js was never configured');
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return notConfigured('the configuration in crosscheck-checks.js is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return notConfigured('the configuration in crosscheck-checks.js is not a JSON object');
  }
  const fields = value as Record<string, unknown>;
  const resultsUrl = baseUrl(fields['resultsUrl']);
  if (resultsUrl === null) {
    return notConfigured(
      'the configuration in crosscheck-checks.js has no http(s) "resultsUrl"'
    );
  }
  const token = fields['readToken'];
  if (token !== undefined && token !== null && typeof token !== 'string') {
    return notConfigured('the configuration in crosscheck-checks.js has a non-text "readToken"');
  }
  return {
    ok: true,
    config: {
      resultsUrl,
      // An empty token would only earn a 401 with a confusing "Bearer " header.
      readToken: typeof token === 'string' && token !== '' ? token : null,
      pollSeconds: pollSeconds(fields['pollSeconds']),
    },
  };
}

function notConfigured(what: string): LoadedConfig {
  return {ok: false, problem: `crosscheck: ${what}: ${HOW_TO_GET_ONE}.`};
}

function baseUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const url = safeHttpUrl(value);
  // The API paths are appended to it, so "https://ci.example.org/" must not give "//api".
  return url === null ? null : url.replace(/\/+$/, '');
}

function pollSeconds(value: unknown): number {
  // A bad interval is not worth refusing the whole file over.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return DEFAULT_POLL_SECONDS;
  }
  return Math.round(value);
}
