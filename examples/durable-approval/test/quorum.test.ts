// The quorum under AWS's testing SDK (LocalDurableTestRunner: the durable
// execution backend simulated in-process, time skipped). CreateUrls is a
// fake that records its requests; an approver's click is what
// sfn-callback-urls then sends to Lambda: the Approve link's output as the
// callback's result, or the Reject link's error and cause as its failure.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";

import { check, linksRequest, quorum, type Deps, type QuorumRequest } from "../src/quorum";

interface LinksRequest {
  callback_id: string;
  title: string;
  expiration: string;
  actions: { name: string; type: string; output?: unknown; error?: string; cause?: string }[];
}

/** fakeDeps records each approver's CreateUrls request and delivery. */
function fakeDeps() {
  const requests = new Map<string, LinksRequest>();
  const delivered: string[] = [];
  const deps: Deps = {
    async createUrls(request: object) {
      const r = request as LinksRequest;
      const approver = (r.actions[0].output as { approver: string }).approver;
      requests.set(approver, r);
      return { approve: `https://links.example/respond?action=approve&for=${approver}`, reject: `https://links.example/respond?action=reject&for=${approver}` };
    },
    async deliver(approver: string) {
      delivered.push(approver);
    },
  };
  return { deps, requests, delivered };
}

function runnerFor(deps: Deps) {
  const handler = withDurableExecution(async (event: QuorumRequest, ctx: DurableContext) => quorum(event, ctx, deps));
  return new LocalDurableTestRunner({ handlerFunction: handler });
}

type Operation = ReturnType<LocalDurableTestRunner["getOperation"]>;

/**
 * start runs the quorum and returns each approver's callback once its
 * links are out. The operations are looked up before the execution goes
 * on (the runner finds by name only operations asked for in time).
 */
async function start(runner: LocalDurableTestRunner, req: QuorumRequest) {
  const run = runner.run({ payload: req });
  const ops = new Map<string, Operation>(req.approvers.map((a) => [a, runner.getOperation(`ask ${a}`)]));
  await Promise.all([...ops.values()].map((op) => op.waitForData(WaitingOperationStatus.SUBMITTED)));
  return { run, ops };
}

/** click answers an approver's callback as their link would. */
async function click(ops: Map<string, Operation>, requests: Map<string, LinksRequest>, approver: string, action: "approve" | "reject") {
  const op = ops.get(approver)!;
  const a = requests.get(approver)!.actions.find((x) => x.name === action)!;
  if (a.type === "success") {
    await op.sendCallbackSuccess(JSON.stringify(a.output));
  } else {
    await op.sendCallbackFailure({ ErrorType: a.error, ErrorMessage: a.cause });
  }
}

const request: QuorumRequest = { title: "Release 2.0 to production", approvers: ["ana@example.com", "ben@example.com", "cy@example.com"], required: 2, timeoutHours: 4 };

/**
 * durable runs a test in the testing SDK's environment, set up and torn
 * down around it: its fake clock (time skipped) must not be installed
 * while node:test's runner schedules the next test.
 */
function durable(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
    try {
      await fn();
    } finally {
      await LocalDurableTestRunner.teardownTestEnvironment();
    }
  };
}

describe("quorum", () => {
  it("goes on when M approve, without waiting for the others", durable(async () => {
    const { deps, requests, delivered } = fakeDeps();
    const runner = runnerFor(deps);
    const { run, ops } = await start(runner, request);
    await click(ops, requests, "ben@example.com", "approve");
    await click(ops, requests, "ana@example.com", "approve");
    const execution = await run;
    assert.equal(execution.getStatus(), "SUCCEEDED");
    const result = execution.getResult() as Record<string, unknown>;
    assert.equal(result.approved, true);
    assert.deepEqual([...(result.approvals as string[])].sort(), ["ana@example.com", "ben@example.com"]);
    assert.deepEqual(result.pending, ["cy@example.com"]);
    assert.equal(result.reason, "MIN_SUCCESSFUL_REACHED");
    // Every approver got their own links, for their own callback.
    assert.deepEqual([...delivered].sort(), request.approvers);
    const ids = new Set([...requests.values()].map((r) => r.callback_id));
    assert.equal(ids.size, 3);
    for (const r of requests.values()) {
      assert.match(r.callback_id, /^[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(r.title, request.title);
    }
  }));

  it("stops as soon as M approvals can no longer be reached", durable(async () => {
    const { deps, requests } = fakeDeps();
    const runner = runnerFor(deps);
    const { run, ops } = await start(runner, request);
    await click(ops, requests, "ana@example.com", "reject");
    await click(ops, requests, "cy@example.com", "reject");
    const result = (await run).getResult() as Record<string, unknown>;
    assert.equal(result.approved, false);
    assert.deepEqual([...(result.refusals as string[])].sort(), ["ana@example.com", "cy@example.com"]);
    assert.equal(result.reason, "FAILURE_TOLERANCE_EXCEEDED");
  }));

  it("counts an approver who does not answer in time as a refusal", durable(async () => {
    const { deps, requests } = fakeDeps();
    const runner = runnerFor(deps);
    const { run, ops } = await start(runner, { ...request, required: 3, timeoutSeconds: 2 });
    await click(ops, requests, "ana@example.com", "approve");
    const result = (await run).getResult() as Record<string, unknown>;
    assert.equal(result.approved, false);
    assert.deepEqual(result.approvals, ["ana@example.com"]);
  }));
});

describe("requests", () => {
  it("asks CreateUrls for the approver's callback id, with links that expire with it", () => {
    const exp = new Date("2030-01-02T03:04:05Z");
    const r = linksRequest("YWJj+/==", "ana@example.com", request, exp) as LinksRequest;
    assert.equal(r.callback_id, "YWJj+/==");
    assert.equal(r.expiration, "2030-01-02T03:04:05.000Z");
    assert.deepEqual(r.actions.map((a) => [a.name, a.type]), [["approve", "success"], ["reject", "failure"]]);
    assert.deepEqual(r.actions[0].output, { approver: "ana@example.com", approved: true });
  });

  it("refuses a quorum that cannot be decided", () => {
    for (const bad of [
      { ...request, required: 0 },
      { ...request, required: 4 },
      { ...request, approvers: [] },
      { ...request, approvers: ["a", "a"] },
      { ...request, title: "" },
      { ...request, timeoutSeconds: 0 },
      { ...request, timeoutHours: 0.5 / 3600 },
    ]) {
      assert.throws(() => check(bad));
    }
    check(request);
  });
});
