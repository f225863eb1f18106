import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ResponseCode} from '@gerritcodereview/typescript-api/checks';
import type {ChangeData} from '@gerritcodereview/typescript-api/checks';
import {DEFAULT_POLL_SECONDS, RAW_CONFIG, parseConfig} from '../src/config';
import {createProvider} from '../src/provider';
import {fakeRest} from './fixtures';

function problemOf(raw: string): string {
  const loaded = parseConfig(raw);
  assert.equal(loaded.ok, false, raw);
  return loaded.ok ? '' : loaded.problem;
}

test('the unreplaced placeholder is reported as not configured, with where to get one', () => {
  const problem = problemOf(RAW_CONFIG);
  assert.match(problem, /never configured/);
  assert.match(problem, /\/plugins\/crosscheck-checks\.js/);
  assert.match(problem, /crosscheck checks plugin/);
});

test('a malformed configuration is not configured either', () => {
  for (const raw of ['{"resultsUrl": ', '[]', '"https://ci.example.org"', 'null', '{}']) {
    assert.match(problemOf(raw), /download it from/, raw);
  }
  assert.match(problemOf('{"resultsUrl": "javascript:alert(1)"}'), /resultsUrl/);
  assert.match(problemOf('{"resultsUrl": "/relative"}'), /resultsUrl/);
  assert.match(problemOf('{"resultsUrl": "https://ci.example.org", "readToken": 5}'), /readToken/);
});

test('a good configuration is read, trailing slashes stripped', () => {
  const loaded = parseConfig(
    JSON.stringify({
      resultsUrl: 'https://ci.example.org/crosscheck//',
      readToken: 'tok',
      pollSeconds: 30,
    })
  );
  assert.deepEqual(loaded, {
    ok: true,
    config: {resultsUrl: 'https://ci.example.org/crosscheck', readToken: 'tok', pollSeconds: 30},
  });
  const bare = parseConfig(
    JSON.stringify({resultsUrl: 'https://ci.example.org/', readToken: null})
  );
  assert.deepEqual(bare, {
    ok: true,
    config: {
      resultsUrl: 'https://ci.example.org',
      readToken: null,
      pollSeconds: DEFAULT_POLL_SECONDS,
    },
  });
});

test('a bad poll interval falls back to the default, 0 stays 0', () => {
  for (const [pollSeconds, expected] of [
    [-5, DEFAULT_POLL_SECONDS],
    ['60', DEFAULT_POLL_SECONDS],
    [0, 0],
    [90.4, 90],
  ] as const) {
    const loaded = parseConfig(JSON.stringify({resultsUrl: 'https://ci.example.org', pollSeconds}));
    assert.equal(loaded.ok && loaded.config.pollSeconds, expected, String(pollSeconds));
  }
});

test('an unconfigured provider answers ERROR without fetching anything', async () => {
  let fetched = 0;
  const provider = createProvider(parseConfig(RAW_CONFIG), fakeRest(), () => {
    fetched++;
    return Promise.reject(new Error('must not be called'));
  });
  const change = {changeNumber: 12, patchsetNumber: 3, repo: 'sandbox/p'} as ChangeData;
  const response = await provider.fetch(change);
  assert.equal(response.responseCode, ResponseCode.ERROR);
  assert.match(response.errorMessage ?? '', /never configured.*\/plugins\/crosscheck-checks\.js/);
  assert.equal(fetched, 0);
});
