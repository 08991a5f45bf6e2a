// The KYC contract, one file per audience: the applicant, the reviewers, on-chain administration.
import { applicantContract } from "./contract-applicant";
import { onchainContract } from "./contract-onchain";
import { reviewContract } from "./contract-review";

export const kycContract = { ...applicantContract, review: reviewContract, onchain: onchainContract };
