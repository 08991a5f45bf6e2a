import { signedIn } from "../../rpc/access";
import type { RequestContext } from "../../rpc/context";
import { os } from "../../rpc/implement";
import { getApplication, saveApplication, submitApplication } from "./applications";
import {
  confirmDocument,
  createDocumentUpload,
  getDocumentDownloadUrl,
  listDocuments,
  removeDocument,
} from "./documents";
import { watchOwnStatus, watchQueue } from "./events";
import { liftFreeze } from "./freeze-cases";
import { retryRegistration } from "./onchain-status";
import { listQueue } from "./queue";
import { claimApplication, decideApplication, getReview, getReviewDocumentUrl, revokeApplication } from "./review";

/** Who asked, from where: recorded with every document URL handed out and every application view. */
function requester(context: RequestContext) {
  return {
    ipAddress: context.clientIp() ?? null,
    userAgent: context.headers.get("user-agent")?.slice(0, 512) ?? null,
  };
}

// Investor procedures act on the caller's own application: no user id in the API to get wrong.
// Reviewer procedures name an application or document; review.ts enforces the four-eyes rule.
export const kycRouter = {
  application: {
    get: os.kyc.application.get.handler(({ context }) => getApplication(context, signedIn(context.caller).user.id)),
    save: os.kyc.application.save.handler(({ context, input }) =>
      saveApplication(context, signedIn(context.caller).user.id, input),
    ),
    submit: os.kyc.application.submit.handler(({ context, input }) =>
      submitApplication(context, signedIn(context.caller).user.id, input ?? {}),
    ),
  },
  documents: {
    list: os.kyc.documents.list.handler(({ context }) => listDocuments(context, signedIn(context.caller).user.id)),
    createUpload: os.kyc.documents.createUpload.handler(({ context, input }) =>
      createDocumentUpload(context, signedIn(context.caller).user.id, input),
    ),
    confirm: os.kyc.documents.confirm.handler(({ context, input }) =>
      confirmDocument(context, signedIn(context.caller).user.id, input.id),
    ),
    remove: os.kyc.documents.remove.handler(({ context, input }) =>
      removeDocument(context, signedIn(context.caller).user.id, input.id),
    ),
    downloadUrl: os.kyc.documents.downloadUrl.handler(({ context, input }) =>
      getDocumentDownloadUrl(context, signedIn(context.caller).user.id, input.id, requester(context)),
    ),
  },
  events: os.kyc.events.handler(({ context, signal }) =>
    watchOwnStatus(context, signedIn(context.caller).user.id, signal),
  ),
  review: {
    queue: os.kyc.review.queue.handler(({ context, input }) =>
      listQueue(context, signedIn(context.caller).user.id, input),
    ),
    get: os.kyc.review.get.handler(({ context, input }) =>
      getReview(context, signedIn(context.caller).user, input.applicationId, requester(context)),
    ),
    claim: os.kyc.review.claim.handler(({ context, input }) =>
      claimApplication(context, signedIn(context.caller).user, input.applicationId, requester(context)),
    ),
    decide: os.kyc.review.decide.handler(({ context, input }) =>
      decideApplication(context, signedIn(context.caller).user, input, requester(context)),
    ),
    revoke: os.kyc.review.revoke.handler(({ context, input }) =>
      revokeApplication(context, signedIn(context.caller).user, input, requester(context)),
    ),
    documentUrl: os.kyc.review.documentUrl.handler(({ context, input }) =>
      getReviewDocumentUrl(context, signedIn(context.caller).user, input.documentId, requester(context)),
    ),
    events: os.kyc.review.events.handler(({ context, signal }) =>
      watchQueue(context, signedIn(context.caller).user.id, signal),
    ),
  },
  onchain: {
    retry: os.kyc.onchain.retry.handler(({ context, input }) => retryRegistration(context, input.wallet)),
    liftFreeze: os.kyc.onchain.liftFreeze.handler(({ context, input }) =>
      liftFreeze(context, signedIn(context.caller).user, input),
    ),
  },
};
