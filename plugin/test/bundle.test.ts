// The built file as Gerrit gets it: a classic script, run with a fake window.Gerrit. Both
// the bundle just built from src (by `npm test`) and the committed copy are checked, so
// the file that ships is known to work whether or not it is stale.

import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import * as vm from 'node:vm';
import type {
  ChangeData,
  ChecksApiConfig,
  ChecksProvider,
  FetchResponse,
} from '@gerritcodereview/typescript-api/checks';
import {checksData, ci, result} from './fixtures';

const PLACEHOLDER_LITERAL = '"__CROSSCHECK_CHECKS_CONFIG__"';

const BUNDLES: Array<[string, URL]> = [
  ['fresh bundle', new URL('./crosscheck-checks.js', import.meta.url)],
  [
    'committed bundle',
    new URL('../../src/crosscheck/checks/static/crosscheck-checks.js', import.meta.url),
  ],
];

/** Objects made inside the vm have its realm's prototypes, which deepEqual would reject. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** What the crosscheck server does before serving the file. */
function configure(source: string, config: object): string {
  return source.replace(PLACEHOLDER_LITERAL, JSON.stringify(JSON.stringify(config)));
}

interface Installed {
  provider: ChecksProvider;
  config: ChecksApiConfig | undefined;
  requested: string[];
  posted: Array<{url: string; payload: unknown}>;
}

function load(source: string, answer: unknown): Installed {
  const registered: Array<{provider: ChecksProvider; config: ChecksApiConfig | undefined}> = [];
  const requested: string[] = [];
  const posted: Array<{url: string; payload: unknown}> = [];
  const plugin = {
    restApi: () => ({
      post: (url: string, payload: unknown) => {
        posted.push({url, payload});
        return Promise.resolve({});
      },
    }),
    checks: () => ({
      register: (provider: ChecksProvider, config?: ChecksApiConfig) => {
        registered.push({provider, config});
      },
    }),
  };
  const context = vm.createContext({
    URL,
    Response,
    window: {Gerrit: {install: (callback: (p: typeof plugin) => void) => callback(plugin)}},
    fetch: (url: string) => {
      requested.push(url);
      return Promise.resolve(new Response(JSON.stringify(answer), {status: 200}));
    },
  });
  vm.runInContext(source, context, {filename: 'crosscheck-checks.js'});
  assert.equal(registered.length, 1, 'the script registers exactly one provider');
  const only = registered[0];
  assert.ok(only);
  return {provider: only.provider, config: only.config, requested, posted};
}

const CHANGE = {
  changeNumber: 12,
  patchsetNumber: 3,
  patchsetSha: 'a'.repeat(40),
  repo: 'sandbox/p',
} as ChangeData;

for (const [label, path] of BUNDLES) {
  test(`${label}: a classic script with the placeholder exactly once`, () => {
    const source = readFileSync(path, 'utf8');
    assert.equal(source.split(PLACEHOLDER_LITERAL).length - 1, 1);
    assert.match(source, /^\/\* Generated from plugin\/src by npm --prefix plugin run build/);
    assert.match(source, /\(\(\) => \{/);
    assert.doesNotMatch(source, /^\s*(import|export)\b/m);
    assert.doesNotMatch(source, /\binnerHTML\b/);
  });

  test(`${label}: configured, it fetches the results service and maps the runs`, async () => {
    const source = configure(readFileSync(path, 'utf8'), {
      resultsUrl: 'https://ci.example.org/',
      readToken: null,
      pollSeconds: 45,
    });
    const answer = checksData([
      ci({rerun_comment: 'recheck acme', results: [result({value: 'failed'})]}),
      ci({name: 'Late CI', results: []}),
    ]);
    const installed = load(source, answer);
    assert.deepEqual(plain(installed.config), {fetchPollingIntervalSeconds: 45});
    const response: FetchResponse = await installed.provider.fetch(CHANGE);
    assert.equal(response.responseCode, 'OK');
    assert.deepEqual(installed.requested, [
      'https://ci.example.org/api/v1/changes/12/patchsets/3/checks?project=sandbox%2Fp',
    ]);
    assert.deepEqual(
      plain(response.runs?.map(r => [r.checkName, r.status, r.results?.[0]?.category ?? null])),
      [
        ['Acme CI / tempest', 'COMPLETED', 'ERROR'],
        ['Late CI', 'RUNNABLE', null],
      ]
    );
    const rerun = response.runs?.[0]?.actions?.[0];
    assert.ok(rerun);
    const posted = await rerun.callback(12, 3, 1, 'result-1', 'Acme CI / tempest', 'Rerun');
    assert.equal(posted?.shouldReload, true);
    assert.deepEqual(plain(installed.posted), [
      {url: '/changes/sandbox%2Fp~12/revisions/3/review', payload: {message: 'recheck acme'}},
    ]);
  });

  test(`${label}: unconfigured, it registers a provider that explains itself`, async () => {
    const installed = load(readFileSync(path, 'utf8'), {});
    assert.deepEqual(plain(installed.config), {fetchPollingIntervalSeconds: 0});
    const response = await installed.provider.fetch(CHANGE);
    assert.equal(response.responseCode, 'ERROR');
    assert.match(response.errorMessage ?? '', /\/plugins\/crosscheck-checks\.js/);
    assert.deepEqual(installed.requested, []);
  });
}
