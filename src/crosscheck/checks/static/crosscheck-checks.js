/* Generated from plugin/src by npm --prefix plugin run build: do not edit. Licensed as crosscheck (Apache-2.0). */
"use strict";
(() => {
  // src/urls.ts
  function safeHttpUrl(value) {
    if (typeof value !== "string") return null;
    const trimmed = value.trim();
    let url;
    try {
      url = new URL(trimmed);
    } catch {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (url.username !== "" || url.password !== "") return null;
    return url.href;
  }

  // src/config.ts
  var RAW_CONFIG = "__CROSSCHECK_CHECKS_CONFIG__";
  var DEFAULT_POLL_SECONDS = 60;
  var HOW_TO_GET_ONE = `download it from your crosscheck results service's /plugins/crosscheck-checks.js, or generate it with "crosscheck checks plugin"`;
  function parseConfig(raw) {
    if (/^__[A-Z_]+__$/.test(raw)) {
      return notConfigured("this copy of crosscheck-checks.js was never configured");
    }
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      return notConfigured("the configuration in crosscheck-checks.js is not valid JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return notConfigured("the configuration in crosscheck-checks.js is not a JSON object");
    }
    const fields = value;
    const resultsUrl = baseUrl(fields["resultsUrl"]);
    if (resultsUrl === null) {
      return notConfigured(
        'the configuration in crosscheck-checks.js has no http(s) "resultsUrl"'
      );
    }
    const token = fields["readToken"];
    if (token !== void 0 && token !== null && typeof token !== "string") {
      return notConfigured('the configuration in crosscheck-checks.js has a non-text "readToken"');
    }
    return {
      ok: true,
      config: {
        resultsUrl,
        // An empty token would only earn a 401 with a confusing "Bearer " header.
        readToken: typeof token === "string" && token !== "" ? token : null,
        pollSeconds: pollSeconds(fields["pollSeconds"])
      }
    };
  }
  function notConfigured(what) {
    return { ok: false, problem: `crosscheck: ${what}: ${HOW_TO_GET_ONE}.` };
  }
  function baseUrl(value) {
    if (typeof value !== "string") return null;
    const url = safeHttpUrl(value);
    return url === null ? null : url.replace(/\/+$/, "");
  }
  function pollSeconds(value) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      return DEFAULT_POLL_SECONDS;
    }
    return Math.round(value);
  }

  // node_modules/@gerritcodereview/typescript-api/checks.js
  var ResponseCode;
  (function(ResponseCode2) {
    ResponseCode2["OK"] = "OK";
    ResponseCode2["ERROR"] = "ERROR";
    ResponseCode2["NOT_LOGGED_IN"] = "NOT_LOGGED_IN";
  })(ResponseCode || (ResponseCode = {}));
  var RunStatus;
  (function(RunStatus2) {
    RunStatus2["RUNNABLE"] = "RUNNABLE";
    RunStatus2["RUNNING"] = "RUNNING";
    RunStatus2["SCHEDULED"] = "SCHEDULED";
    RunStatus2["COMPLETED"] = "COMPLETED";
  })(RunStatus || (RunStatus = {}));
  var Category;
  (function(Category2) {
    Category2["SUCCESS"] = "SUCCESS";
    Category2["INFO"] = "INFO";
    Category2["WARNING"] = "WARNING";
    Category2["ERROR"] = "ERROR";
  })(Category || (Category = {}));
  var TagColor;
  (function(TagColor2) {
    TagColor2["GRAY"] = "gray";
    TagColor2["YELLOW"] = "yellow";
    TagColor2["PINK"] = "pink";
    TagColor2["PURPLE"] = "purple";
    TagColor2["CYAN"] = "cyan";
    TagColor2["BROWN"] = "brown";
  })(TagColor || (TagColor = {}));
  var LinkIcon;
  (function(LinkIcon2) {
    LinkIcon2["EXTERNAL"] = "external";
    LinkIcon2["IMAGE"] = "image";
    LinkIcon2["HISTORY"] = "history";
    LinkIcon2["DOWNLOAD"] = "download";
    LinkIcon2["DOWNLOAD_MOBILE"] = "download_mobile";
    LinkIcon2["HELP_PAGE"] = "help_page";
    LinkIcon2["REPORT_BUG"] = "report_bug";
    LinkIcon2["CODE"] = "code";
    LinkIcon2["FILE_PRESENT"] = "file_present";
    LinkIcon2["VIEW_TIMELINE"] = "view_timeline";
  })(LinkIcon || (LinkIcon = {}));

  // src/response.ts
  function readChecksData(value) {
    if (!isObject(value)) return "the answer is not a JSON object";
    if (!Array.isArray(value["cis"])) return 'the answer has no "cis" list';
    const cis = [];
    for (const [i, item] of value["cis"].entries()) {
      const ci = readCI(item);
      if (typeof ci === "string") return `cis[${i}]: ${ci}`;
      cis.push(ci);
    }
    if (!isInt(value["change"]) || !isInt(value["patchset"])) {
      return "the answer has no change and patchset numbers";
    }
    return {
      change: value["change"],
      patchset: value["patchset"],
      project: optionalText(value["project"]),
      page_url: optionalText(value["page_url"]),
      cis
    };
  }
  function readCI(value) {
    if (!isObject(value)) return "not an object";
    const name = value["name"];
    if (typeof name !== "string" || name === "") return "no name";
    if (!Array.isArray(value["results"])) return `${name}: no "results" list`;
    const results = [];
    for (const [i, item] of value["results"].entries()) {
      const result = readResult(item);
      if (typeof result === "string") return `${name}: results[${i}]: ${result}`;
      results.push(result);
    }
    return {
      name,
      info_url: optionalText(value["info_url"]),
      expected: value["expected"] === true,
      rerun_comment: optionalText(value["rerun_comment"]),
      results
    };
  }
  function readResult(value) {
    if (!isObject(value)) return "not an object";
    for (const key of ["id", "ci", "job", "value", "reported_at"]) {
      if (typeof value[key] !== "string") return `no "${key}" text`;
    }
    if (!isInt(value["change"]) || !isInt(value["patchset"])) {
      return "no change and patchset numbers";
    }
    const duration = value["duration"];
    return {
      id: value["id"],
      ci: value["ci"],
      project: typeof value["project"] === "string" ? value["project"] : "",
      branch: optionalText(value["branch"]),
      change: value["change"],
      patchset: value["patchset"],
      revision: optionalText(value["revision"]),
      job: value["job"],
      value: value["value"],
      url: optionalText(value["url"]),
      duration: typeof duration === "number" && Number.isFinite(duration) && duration >= 0 ? duration : null,
      duration_text: optionalText(value["duration_text"]),
      // Only an explicit false makes a job non-voting, as in the service's own model.
      voting: value["voting"] !== false,
      category: optionalText(value["category"]),
      rerun: value["rerun"] === true,
      comment: optionalText(value["comment"]),
      reported_at: value["reported_at"]
    };
  }
  function isObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }
  function isInt(value) {
    return typeof value === "number" && Number.isInteger(value);
  }
  function optionalText(value) {
    return typeof value === "string" ? value : null;
  }

  // src/text.ts
  var ELLIPSIS = "\u2026";
  function cap(text, max) {
    if (text.length <= max) return text;
    return text.slice(0, Math.max(0, max - 1)) + ELLIPSIS;
  }
  function firstLine(text) {
    for (const line of text.split(/\r\n|\r|\n/)) {
      const trimmed = line.trim();
      if (trimmed !== "") return trimmed;
    }
    return "";
  }

  // src/api.ts
  var DETAIL_MAX = 500;
  function checksUrl(resultsUrl, ref) {
    return `${resultsUrl}/api/v1/changes/${ref.changeNumber}/patchsets/${ref.patchsetNumber}/checks?project=${encodeURIComponent(ref.repo)}`;
  }
  async function fetchChecks(config, ref, fetchImpl) {
    const headers = { Accept: "application/json" };
    if (config.readToken !== null) headers["Authorization"] = `Bearer ${config.readToken}`;
    let response;
    try {
      response = await fetchImpl(checksUrl(config.resultsUrl, ref), {
        method: "GET",
        headers,
        // Results change under us while the page is open; a cached answer would hide them.
        cache: "no-store",
        // The service authenticates by token only; Gerrit's cookies are none of its business.
        credentials: "omit"
      });
    } catch {
      return {
        ok: false,
        problem: `Could not reach the crosscheck results service at ${config.resultsUrl}. If it is up, check that this Gerrit's origin is listed in the service's gerrit-origins setting (otherwise the browser refuses the answer).`
      };
    }
    if (!response.ok) return { ok: false, problem: await describeRefusal(config, response) };
    let body;
    try {
      body = await response.json();
    } catch {
      return {
        ok: false,
        problem: `The crosscheck results service at ${config.resultsUrl} answered with something other than JSON.`
      };
    }
    const data = readChecksData(body);
    if (typeof data === "string") {
      return {
        ok: false,
        problem: `Unexpected answer from the crosscheck results service at ${config.resultsUrl}: ${data}.`
      };
    }
    return { ok: true, data };
  }
  async function describeRefusal(config, response) {
    const detail = await detailOf(response);
    const said = detail === null ? "" : `: ${detail}`;
    const where = `The crosscheck results service at ${config.resultsUrl}`;
    if (response.status === 401) {
      const hint = config.readToken === null ? "it requires a read token, and this plugin file has none" : "it did not accept the read token in this plugin file";
      return `${where} refused the request (${hint})${said}`;
    }
    if (response.status === 403) {
      return `${where} refused the read token in this plugin file${said}`;
    }
    return `${where} answered HTTP ${response.status}${said}`;
  }
  async function detailOf(response) {
    try {
      const body = await response.json();
      if (typeof body === "object" && body !== null && "detail" in body) {
        const detail = body.detail;
        if (typeof detail === "string" && detail.trim() !== "") return cap(detail.trim(), DETAIL_MAX);
      }
    } catch {
    }
    return null;
  }

  // src/runs.ts
  var SUMMARY_MAX = 200;
  var MESSAGE_MAX = 1e4;
  var MISSING_DESCRIPTION = "expected on this project; has not reported on this patchset";
  var CATEGORIES = /* @__PURE__ */ new Map([
    ["passed", Category.SUCCESS],
    ["failed", Category.ERROR],
    ["unstable", Category.WARNING],
    ["skipped", Category.INFO],
    ["not_registered", Category.INFO]
  ]);
  function toFetchResponse(data, repo, rest) {
    const runs = [];
    const reported = [];
    for (const ci of data.cis) {
      const actions = rerunActions(ci, repo, rest);
      if (ci.results.length === 0) {
        if (ci.expected) runs.push(missingRun(ci, data, actions));
        continue;
      }
      for (const result of ci.results) {
        const run = resultRun(ci, result, actions);
        runs.push(run);
        reported.push({ run, at: timeOf(result.reported_at) ?? 0 });
      }
    }
    numberAttempts(reported);
    const response = { responseCode: ResponseCode.OK, runs };
    const page = safeHttpUrl(data.page_url);
    if (page !== null) {
      response.links = [
        { url: page, tooltip: "All CI results of this change", primary: false, icon: LinkIcon.HISTORY }
      ];
    }
    return response;
  }
  function checkName(result) {
    return `${result.ci} / ${result.job}`;
  }
  function categoryOf(value) {
    return CATEGORIES.get(value) ?? Category.INFO;
  }
  function resultRun(ci, result, actions) {
    const running = result.value === "in_progress";
    const run = {
      change: result.change,
      patchset: result.patchset,
      externalId: result.id,
      checkName: checkName(result),
      checkDescription: `Job ${result.job} of ${ci.name}` + (result.voting ? "" : " (non-voting)"),
      status: running ? RunStatus.RUNNING : RunStatus.COMPLETED
    };
    const info = safeHttpUrl(ci.info_url);
    if (info !== null) run.checkLink = info;
    const logs = safeHttpUrl(result.url);
    if (logs !== null) run.statusLink = logs;
    if (actions.length > 0) run.actions = actions;
    const at = timeOf(result.reported_at);
    if (at !== null) {
      const started = result.duration === null ? null : at - result.duration * 1e3;
      if (running) {
        run.startedTimestamp = new Date(started ?? at);
      } else {
        run.finishedTimestamp = new Date(at);
        if (started !== null) run.startedTimestamp = new Date(started);
      }
    }
    if (!running) run.results = [checkResult(result, logs)];
    return run;
  }
  function checkResult(result, logs) {
    const checkResult2 = {
      externalId: result.id,
      category: categoryOf(result.value),
      summary: summaryOf(result)
    };
    const comment = result.comment ?? "";
    if (comment.trim() !== "") checkResult2.message = cap(comment, MESSAGE_MAX);
    if (!result.voting) {
      checkResult2.tags = [
        { name: "non-voting", tooltip: "This job does not vote", color: TagColor.GRAY }
      ];
    }
    if (logs !== null) {
      const link = { url: logs, tooltip: "logs", primary: true, icon: LinkIcon.EXTERNAL };
      checkResult2.links = [link];
    }
    return checkResult2;
  }
  function summaryOf(result) {
    const said = firstLine(result.comment ?? "");
    if (said !== "") return cap(said, SUMMARY_MAX);
    const outcome = result.value.replace(/_/g, " ");
    const took = result.duration_text === null ? "" : ` in ${result.duration_text}`;
    return cap(outcome + took, SUMMARY_MAX);
  }
  function missingRun(ci, data, actions) {
    const run = {
      change: data.change,
      patchset: data.patchset,
      checkName: ci.name,
      checkDescription: `${ci.name} is expected to report on every patchset of this project`,
      status: RunStatus.RUNNABLE,
      statusDescription: MISSING_DESCRIPTION
    };
    const info = safeHttpUrl(ci.info_url);
    if (info !== null) run.checkLink = info;
    if (actions.length > 0) run.actions = actions;
    return run;
  }
  function rerunActions(ci, repo, rest) {
    const comment = ci.rerun_comment;
    if (rest === null || comment === null || comment.trim() === "") return [];
    return [
      {
        name: "Rerun",
        tooltip: `Posts the comment "${comment}" on this patchset as you, so that ${ci.name} runs again`,
        primary: true,
        // Posted through Gerrit's own REST API with the user's session: the CI sees an
        // ordinary comment from the user, exactly as if they had typed it.
        callback: (change, patchset) => postComment(rest, repo, change, patchset, comment)
      }
    ];
  }
  function reviewPath(repo, change, patchset) {
    return `/changes/${encodeURIComponent(repo)}~${change}/revisions/${patchset}/review`;
  }
  async function postComment(rest, repo, change, patchset, comment) {
    try {
      await rest.post(reviewPath(repo, change, patchset), { message: comment });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return { errorMessage: cap(`Could not post "${comment}": ${why}`, SUMMARY_MAX) };
    }
    return { message: `Posted "${comment}"`, shouldReload: true };
  }
  function numberAttempts(reported) {
    const byName = /* @__PURE__ */ new Map();
    for (const entry of reported) {
      const same = byName.get(entry.run.checkName);
      if (same === void 0) byName.set(entry.run.checkName, [entry]);
      else same.push(entry);
    }
    for (const same of byName.values()) {
      same.sort((a, b) => a.at - b.at);
      same.forEach((entry, i) => {
        entry.run.attempt = i + 1;
      });
    }
  }
  function timeOf(iso) {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? null : at;
  }

  // src/provider.ts
  function createProvider(loaded, rest, fetchImpl) {
    return {
      async fetch(change) {
        if (!loaded.ok) return failure(loaded.problem);
        try {
          const answer = await fetchChecks(loaded.config, change, fetchImpl);
          if (!answer.ok) return failure(answer.problem);
          return toFetchResponse(answer.data, change.repo, rerunnable(change) ? rest : null);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          return failure(`crosscheck: unexpected failure: ${why}`);
        }
      }
    };
  }
  function rerunnable(change) {
    const info = change.changeInfo;
    if (info === void 0 || info === null) return true;
    if (info.status !== void 0 && info.status !== "NEW") return false;
    const current = info.current_revision === void 0 ? void 0 : info.revisions?.[info.current_revision]?._number;
    return typeof current !== "number" || current === change.patchsetNumber;
  }
  function failure(errorMessage) {
    return { responseCode: ResponseCode.ERROR, errorMessage };
  }

  // src/plugin.ts
  var browserFetch = (url, init) => fetch(url, init);
  function install(plugin) {
    const loaded = parseConfig(RAW_CONFIG);
    const provider = createProvider(loaded, plugin.restApi(), browserFetch);
    const fetchPollingIntervalSeconds = loaded.ok ? loaded.config.pollSeconds : 0;
    plugin.checks().register(provider, { fetchPollingIntervalSeconds });
  }
  if (typeof window !== "undefined" && window.Gerrit) window.Gerrit.install(install);
})();
