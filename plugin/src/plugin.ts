// Entry point: Gerrit loads this file from its plugins/ directory as a classic script.
//
// Written against @gerritcodereview/typescript-api 3.13.0 but meant for Gerrit 3.10 too
// (stable-3.10 branched 2024-04-05), so it uses only what both Checks APIs have. Newer than
// 3.10: CheckRun.isAiPowered and LinkIcon.VIEW_TIMELINE (added 2024-09); CheckResult.fixes,
// show_on_unchanged_lines and the USEFUL/NOT_USEFUL names may be too. None is used here.
// Used, and in both: fetch(ChangeData), fetchPollingIntervalSeconds, FetchResponse.links,
// Category.SUCCESS, RunStatus RUNNABLE/RUNNING/COMPLETED, TagColor.GRAY, LinkIcon EXTERNAL
// and HISTORY, ActionResult {message, shouldReload, errorMessage}: errorMessage is marked
// deprecated, but Gerrit still shows it when there is no message.

import type {} from '@gerritcodereview/typescript-api/gerrit';
import type {PluginApi} from '@gerritcodereview/typescript-api/plugin';
import type {FetchLike} from './api';
import {RAW_CONFIG, parseConfig} from './config';
import {createProvider} from './provider';

// Called through a wrapper: a detached window.fetch throws "Illegal invocation".
const browserFetch: FetchLike = (url, init) => fetch(url, init);

function install(plugin: PluginApi): void {
  const loaded = parseConfig(RAW_CONFIG);
  const provider = createProvider(loaded, plugin.restApi(), browserFetch);
  // An unconfigured file says so once; asking again every minute would change nothing.
  const fetchPollingIntervalSeconds = loaded.ok ? loaded.config.pollSeconds : 0;
  plugin.checks().register(provider, {fetchPollingIntervalSeconds});
}

// Outside Gerrit (a page that loads the file by mistake) there is nothing to register with.
if (typeof window !== 'undefined' && window.Gerrit) window.Gerrit.install(install);
