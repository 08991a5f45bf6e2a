import { onReadReplica } from "../../infra/db";
import type { RequestContext } from "../../rpc/context";
import { userProcedure } from "../../rpc/implement";
import { auditActorOf } from "../audit/record";
import { getApplication, saveApplication, submitApplication } from "./applications";
import { rejectDocument, setRisk } from "./assessment";
import { liftRejectionBlock } from "./block";
import { decideApplication, revokeApplication } from "./decisions";
import { getDocumentDownloadUrl } from "./document-download";
import { removeDocument } from "./document-removal";
import { confirmDocument, createDocumentUpload } from "./document-upload";
import { listDocuments } from "./documents";
import {
  approveErasure,
  getOwnErasureRequest,
  listErasureRequests,
  refuseErasure,
  requestErasure,
  withdrawErasure,
} from "./erasure-requests";
import { watchOwnStatus, watchQueue } from "./events";
import { liftFreeze } from "./freeze-cases";
import { retryRegistration } from "./onchain-status";
import { listQueue } from "./queue";
import { claimApplication, getReview, getReviewDocumentUrl } from "./review";

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
    get: userProcedure.kyc.application.get.handler(({ context }) => getApplication(context, context.user.id)),
    save: userProcedure.kyc.application.save.handler(({ context, input }) =>
      saveApplication(context, context.user.id, input),
    ),
    submit: userProcedure.kyc.application.submit.handler(({ context, input }) =>
      submitApplication(context, context.user.id, input ?? {}, context.user),
    ),
  },
  documents: {
    list: userProcedure.kyc.documents.list.handler(({ context }) => listDocuments(context, context.user.id)),
    createUpload: userProcedure.kyc.documents.createUpload.handler(({ context, input }) =>
      createDocumentUpload(context, context.user.id, input),
    ),
    confirm: userProcedure.kyc.documents.confirm.handler(({ context, input }) =>
      confirmDocument(context, context.user.id, input.id),
    ),
    remove: userProcedure.kyc.documents.remove.handler(({ context, input }) =>
      removeDocument(context, context.user.id, input.id),
    ),
    downloadUrl: userProcedure.kyc.documents.downloadUrl.handler(({ context, input }) =>
      getDocumentDownloadUrl(context, context.user.id, input.id, requester(context)),
    ),
  },
  events: userProcedure.kyc.events.handler(({ context, signal }) => watchOwnStatus(context, context.user.id, signal)),
  review: {
    // The replica (DATABASE_READ_URL): a page seconds behind is still a fair queue, and whatever a
    // reviewer then does to a row (get, claim, decide) reads the primary and sees it as it is.
    queue: userProcedure.kyc.review.queue.handler(({ context, input }) =>
      listQueue(onReadReplica(context), context.user.id, input),
    ),
    get: userProcedure.kyc.review.get.handler(({ context, input }) =>
      getReview(context, context.user, input.applicationId, requester(context)),
    ),
    claim: userProcedure.kyc.review.claim.handler(({ context, input }) =>
      claimApplication(context, context.user, input.applicationId, requester(context)),
    ),
    decide: userProcedure.kyc.review.decide.handler(({ context, input }) =>
      decideApplication(context, context.user, input, requester(context)),
    ),
    revoke: userProcedure.kyc.review.revoke.handler(({ context, input }) =>
      revokeApplication(context, context.user, input, requester(context)),
    ),
    setRisk: userProcedure.kyc.review.setRisk.handler(({ context, input }) =>
      setRisk(context, context.user, input, requester(context)),
    ),
    rejectDocument: userProcedure.kyc.review.rejectDocument.handler(({ context, input }) =>
      rejectDocument(context, context.user, input, requester(context)),
    ),
    liftBlock: userProcedure.kyc.review.liftBlock.handler(({ context, input }) =>
      liftRejectionBlock(context, context.user, input, auditActorOf(context), requester(context)),
    ),
    documentUrl: userProcedure.kyc.review.documentUrl.handler(({ context, input }) =>
      getReviewDocumentUrl(context, context.user, input.documentId, requester(context)),
    ),
    events: userProcedure.kyc.review.events.handler(({ context, signal }) =>
      watchQueue(context, context.user.id, signal),
    ),
  },
  onchain: {
    retry: userProcedure.kyc.onchain.retry.handler(({ context, input }) =>
      retryRegistration(context, input.wallet, auditActorOf(context)),
    ),
    liftFreeze: userProcedure.kyc.onchain.liftFreeze.handler(({ context, input }) =>
      liftFreeze(context, context.user, input, auditActorOf(context)),
    ),
  },
  erasure: {
    request: userProcedure.kyc.erasure.request.handler(({ context }) => requestErasure(context, auditActorOf(context))),
    get: userProcedure.kyc.erasure.get.handler(({ context }) => getOwnErasureRequest(context, context.user.id)),
    withdraw: userProcedure.kyc.erasure.withdraw.handler(({ context }) =>
      withdrawErasure(context, auditActorOf(context)),
    ),
  },
  erasureRequests: {
    list: userProcedure.kyc.erasureRequests.list.handler(({ context, input }) => listErasureRequests(context, input)),
    approve: userProcedure.kyc.erasureRequests.approve.handler(({ context, input }) =>
      approveErasure(context, auditActorOf(context), input.requestId),
    ),
    refuse: userProcedure.kyc.erasureRequests.refuse.handler(({ context, input }) =>
      refuseErasure(context, auditActorOf(context), input),
    ),
  },
};
