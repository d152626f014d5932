// An M-of-N approval quorum in a Lambda durable function: each approver
// gets their own links (sfn-callback-urls' CreateUrls for the callback id
// of their own waitForCallback), and the function goes on as soon as M
// have approved, or as soon as so many have rejected (or not answered in
// time) that M approvals can no longer be reached.
import type { DurableContext } from "@aws/durable-execution-sdk-js";

/** What the function is started with. */
export interface QuorumRequest {
  /** What is being decided, for the approvers' pages and messages. */
  title: string;
  description?: string;
  /** The approvers: each gets their own links. */
  approvers: string[];
  /** How many approvals are needed (1 to approvers.length). */
  required: number;
  /** How long each approver has, in hours (default 24). */
  timeoutHours?: number;
  /** How long each approver has, in seconds, if given (a short deadline). */
  timeoutSeconds?: number;
}

/** An approver's answer, the output of their Approve link. */
export interface Approval {
  approver: string;
  approved: true;
}

/** What the function returns. */
export interface QuorumResult {
  approved: boolean;
  approvals: string[];
  /** Approvers who rejected or did not answer in time. */
  refusals: string[];
  /** Approvers whose answer was no longer needed. */
  pending: string[];
  reason: string;
}

/** One approver's links, by action name. */
export type Links = Record<string, string>;

/** What the quorum needs from outside: links, and a way to deliver them. */
export interface Deps {
  /**
   * createUrls calls sfn-callback-urls' CreateUrls with a request (the
   * JSON of its API: callback_id, actions, ...) and returns the URLs.
   */
  createUrls(request: object): Promise<Links>;
  /** deliver hands an approver their links (an email, a chat message). */
  deliver(approver: string, request: QuorumRequest, links: Links): Promise<void>;
}

/** check refuses a request the quorum cannot decide. */
export function check(req: QuorumRequest): void {
  const n = req.approvers?.length ?? 0;
  if (!req.title || n === 0 || new Set(req.approvers).size !== n) {
    throw new Error("a title and at least one approver, each named once, are needed");
  }
  const seconds = req.timeoutSeconds ?? (req.timeoutHours ?? 24) * 3600;
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new Error("the timeout must be a whole number of seconds, at least 1");
  }
  if (!Number.isInteger(req.required) || req.required < 1 || req.required > n) {
    throw new Error(`required must be a whole number from 1 to ${n}`);
  }
}

/**
 * linksRequest is the CreateUrls request for one approver's callback: an
 * Approve link whose output names the approver, and a Reject link with a
 * comment form; both expire with the callback.
 */
export function linksRequest(callbackId: string, approver: string, req: QuorumRequest, expiration: Date): object {
  return {
    callback_id: callbackId,
    title: req.title,
    description: req.description ?? "",
    expiration: expiration.toISOString(),
    actions: [
      { name: "approve", type: "success", output: { approver, approved: true }, label: "Approve" },
      {
        name: "reject", type: "failure", error: "Rejected", cause: `${approver} rejected the request`, label: "Reject",
        input: { type: "object", properties: { comment: { type: "string", title: "Comment", maxLength: 1000 } } },
      },
    ],
  };
}

/** The callback's result is the Approve link's output, as JSON text. */
const approvalSerdes = {
  deserialize: async (data: string | undefined): Promise<Approval | undefined> =>
    data === undefined ? undefined : (JSON.parse(data) as Approval),
};

/** quorum is the durable function's body. */
export async function quorum(req: QuorumRequest, ctx: DurableContext, deps: Deps): Promise<QuorumResult> {
  check(req);
  const seconds = req.timeoutSeconds ?? (req.timeoutHours ?? 24) * 3600;
  const n = req.approvers.length;
  const branches = req.approvers.map((approver) => ({
    name: `approval ${approver}`,
    func: async (branch: DurableContext): Promise<Approval> => {
      const answer = await branch.waitForCallback<Approval | undefined>(
        `ask ${approver}`,
        async (callbackId) => {
          // The submitter runs once (it is checkpointed): the links are
          // made and sent once, whatever replays follow.
          const expiration = new Date(Date.now() + seconds * 1000);
          const links = await deps.createUrls(linksRequest(callbackId, approver, req, expiration));
          await deps.deliver(approver, req, links);
        },
        { timeout: { seconds }, serdes: approvalSerdes },
      );
      if (!answer || answer.approved !== true) {
        throw new Error(`${approver}: unexpected answer`);
      }
      return { approver, approved: true };
    },
  }));
  // Done when M approvals are in, or when more than N - M approvers have
  // rejected or timed out: then M can no longer be reached.
  const batch = await ctx.parallel<Approval>("quorum", branches, {
    completionConfig: { minSuccessful: req.required, toleratedFailureCount: n - req.required },
  });
  const approvals = batch.succeeded().map((item) => item.result.approver);
  const refusals = batch.failed().map((item) => req.approvers[item.index]);
  const answered = new Set([...approvals, ...refusals]);
  return {
    approved: approvals.length >= req.required,
    approvals,
    refusals,
    pending: req.approvers.filter((a) => !answered.has(a)),
    reason: batch.completionReason,
  };
}
