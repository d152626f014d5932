// The Lambda handler: the quorum with its real dependencies, CreateUrls
// invoked directly (lambda:InvokeFunction on CREATE_URLS_FUNCTION) and the
// links mailed to each approver with SES (SENDER, a verified identity).
import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";

import { quorum, type Deps, type Links, type QuorumRequest } from "./quorum";

const lambda = new LambdaClient({});
const ses = new SESv2Client({});

/** createUrls invokes CreateUrls with the request as the event. */
export async function createUrls(request: object, functionName = process.env.CREATE_URLS_FUNCTION ?? ""): Promise<Links> {
  const out = await lambda.send(new InvokeCommand({
    FunctionName: functionName,
    Payload: Buffer.from(JSON.stringify(request)),
  }));
  const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
  if (out.FunctionError) {
    throw new Error(`CreateUrls failed (${out.FunctionError}): ${text.slice(0, 500)}`);
  }
  const body = JSON.parse(text) as { urls?: Links; error?: string; message?: string };
  if (!body.urls) {
    // The contract's error body: a request the service refuses is not
    // worth retrying, and the message says why.
    throw new Error(`CreateUrls refused the request: ${body.error}: ${body.message}`);
  }
  return body.urls;
}

/** mail sends an approver their links, one per line (each under 998 characters). */
export async function mail(approver: string, req: QuorumRequest, links: Links): Promise<void> {
  const text = [
    `${req.title}`, "", req.description ?? "", "",
    `Approve: ${links.approve}`, "", `Reject: ${links.reject}`, "",
    `${req.required} of ${req.approvers.length} approvals are needed.`,
  ].join("\n");
  await ses.send(new SendEmailCommand({
    FromEmailAddress: process.env.SENDER,
    Destination: { ToAddresses: [approver] },
    Content: { Simple: { Subject: { Data: `Approval needed: ${req.title}` }, Body: { Text: { Data: text } } } },
  }));
}

const deps: Deps = { createUrls: (request) => createUrls(request), deliver: mail };

export const handler = withDurableExecution(async (event: QuorumRequest, ctx: DurableContext) => quorum(event, ctx, deps));
