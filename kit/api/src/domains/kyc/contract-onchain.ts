// The on-chain part of the KYC contract: retrying a wallet's registration, lifting a freeze.
import { z } from "zod";
import { evmAddress } from "../../contract-fields";
import { base } from "../../rpc/base";
import { freezes, id, onchainRegistration, text } from "./contract-shapes";

const liftFreezeInput = z.object({
  applicationId: id("application"),
  reason: text(2_000).meta({ description: "Why the freeze is lifted; kept with the case" }),
});

const manageOnchain = { kyc: ["manage_onchain" as const] };
const liftFreezes = { kyc: ["lift_freeze" as const] };

export const onchainContract = {
  retry: base
    .route({
      method: "POST",
      path: "/kyc/onchain/{wallet}/retry",
      tags: ["kyc onchain"],
      summary: "Queue a failed on-chain registration (or revocation) of a wallet again",
    })
    .meta({ permission: manageOnchain, keyGrant: manageOnchain, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(z.object({ wallet: evmAddress("wallet") }))
    .output(onchainRegistration),
  liftFreeze: base
    .route({
      method: "POST",
      path: "/kyc/onchain/freezes/{applicationId}/lift",
      tags: ["kyc onchain"],
      summary: "Lift the freeze a sanctions or fraud revocation put on the applicant's wallets (with a reason)",
    })
    .meta({ permission: liftFreezes, keyGrant: liftFreezes, errors: ["NOT_FOUND", "CONFLICT"] })
    .input(liftFreezeInput)
    .output(freezes),
};

export type LiftFreezeInput = z.infer<typeof liftFreezeInput>;
