import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ResponseCode, RunStatus} from '@gerritcodereview/typescript-api/checks';
import type {ChangeData} from '@gerritcodereview/typescript-api/checks';
import type {FetchLike} from '../src/api';
import {parseConfig, type LoadedConfig} from '../src/config';
import {createProvider, rerunnable} from '../src/provider';
import {checksData, ci, fakeRest} from './fixtures';

const CHANGE = {changeNumber: 12, patchsetNumber: 3, repo: 'sandbox/p'} as ChangeData;

function config(readToken: string | null): LoadedConfig {
  return parseConfig(
    JSON.stringify({resultsUrl: 'https://ci.example.org/', readToken, pollSeconds: 60})
  );
}

interface Call {
  url: string;
  init: RequestInit;
}

function answering(status: number, body: unknown, calls: Call[] = []): FetchLike {
  return (url, init) => {
    calls.push({url, init});
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return Promise.resolve(new Response(text, {status}));
  };
}

test('the request goes to the checks endpoint, token-only, never cached', async () => {
  const calls: Call[] = [];
  const fetchImpl = answering(200, checksData([ci()]), calls);
  const provider = createProvider(config('s3cret'), fakeRest(), fetchImpl);
  const response = await provider.fetch(CHANGE);
  assert.equal(response.responseCode, ResponseCode.OK);
  assert.equal(calls.length, 1);
  const call = calls[0];
  assert.ok(call);
  assert.equal(
    call.url,
    'https://ci.example.org/api/v1/changes/12/patchsets/3/checks?project=sandbox%2Fp'
  );
  assert.deepEqual(call.init.headers, {Accept: 'application/json', Authorization: 'Bearer s3cret'});
  assert.equal(call.init.cache, 'no-store');
  assert.equal(call.init.credentials, 'omit');
  assert.equal(call.init.method, 'GET');
  assert.deepEqual(
    response.runs?.map(r => [r.checkName, r.status]),
    [['Acme CI / tempest', RunStatus.COMPLETED]]
  );
});

test('without a token no Authorization header is sent', async () => {
  const calls: Call[] = [];
  const fetchImpl = answering(200, checksData([]), calls);
  await createProvider(config(null), fakeRest(), fetchImpl).fetch(CHANGE);
  assert.deepEqual(calls[0]?.init.headers, {Accept: 'application/json'});
});

test("a refusal shows the service's detail text", async () => {
  const missing = await createProvider(
    config(null),
    fakeRest(),
    answering(401, {detail: 'reading results needs a token'})
  ).fetch(CHANGE);
  assert.equal(missing.responseCode, ResponseCode.ERROR);
  assert.match(missing.errorMessage ?? '', /requires a read token.*reading results needs a token/);

  const wrong = await createProvider(
    config('bad'),
    fakeRest(),
    answering(403, {detail: 'unknown token'})
  ).fetch(CHANGE);
  assert.match(wrong.errorMessage ?? '', /refused the read token.*unknown token/);

  const structured = await createProvider(
    config(null),
    fakeRest(),
    answering(422, {detail: [{loc: ['query']}], errors: ['x']})
  ).fetch(CHANGE);
  assert.match(structured.errorMessage ?? '', /answered HTTP 422$/);

  const html = await createProvider(
    config(null),
    fakeRest(),
    answering(502, '<html>bad gateway</html>')
  ).fetch(CHANGE);
  assert.match(html.errorMessage ?? '', /answered HTTP 502$/);
});

test('an unreachable service names its URL and the gerrit-origins setting', async () => {
  const provider = createProvider(config(null), fakeRest(), () =>
    Promise.reject(new TypeError('Failed to fetch'))
  );
  const response = await provider.fetch(CHANGE);
  assert.equal(response.responseCode, ResponseCode.ERROR);
  assert.match(response.errorMessage ?? '', /https:\/\/ci\.example\.org\b/);
  assert.match(response.errorMessage ?? '', /gerrit-origins/);
});

test('an answer of the wrong shape is an ERROR, not a crash', async () => {
  const bodies = [
    'not json',
    {cis: 'nope'},
    {change: 12, patchset: 3, cis: [{name: 'A', results: [{}]}]},
  ];
  for (const body of bodies) {
    const provider = createProvider(config(null), fakeRest(), answering(200, body));
    const response = await provider.fetch(CHANGE);
    assert.equal(response.responseCode, ResponseCode.ERROR, JSON.stringify(body));
    assert.match(response.errorMessage ?? '', /crosscheck results service/);
  }
});

test('Rerun is offered only on an open change at its current patchset', async () => {
  const rerunning = ci({rerun_comment: 'recheck acme'});
  const fetchImpl = answering(200, checksData([rerunning]));
  const provider = createProvider(config(null), fakeRest(), fetchImpl);
  const actionsFor = async (changeInfo: unknown): Promise<string[]> => {
    const response = await provider.fetch({...CHANGE, changeInfo} as ChangeData);
    return (response.runs ?? []).flatMap((run) => (run.actions ?? []).map((a) => a.name));
  };
  const current = {current_revision: 'c3', revisions: {c3: {_number: 3}}};
  assert.ok((await actionsFor({status: 'NEW', ...current})).includes('Rerun'));
  assert.ok((await actionsFor(undefined)).includes('Rerun')); // nothing known: offered
  assert.deepEqual(await actionsFor({status: 'ABANDONED', ...current}), []);
  assert.deepEqual(await actionsFor({status: 'MERGED', ...current}), []);
  const newer = {status: 'NEW', current_revision: 'c4', revisions: {c4: {_number: 4}}};
  assert.deepEqual(await actionsFor(newer), []);
  assert.ok(rerunnable({...CHANGE, changeInfo: {status: 'NEW'}} as unknown as ChangeData));
});
