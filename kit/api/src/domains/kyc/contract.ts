// The KYC contract, one file per audience: the applicant, the reviewers, on-chain administration,
// erasure (the user's request, the admins' decision).
import { applicantContract } from "./contract-applicant";
import { erasureAdminContract, erasureContract } from "./contract-erasure";
import { onchainContract } from "./contract-onchain";
import { reviewContract } from "./contract-review";

export const kycContract = {
  ...applicantContract,
  review: reviewContract,
  onchain: onchainContract,
  erasure: erasureContract,
  erasureRequests: erasureAdminContract,
};
