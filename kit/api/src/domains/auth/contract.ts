import { z } from "zod";
import { evmAddress, isoDateTime, pageCursor, pageLimit } from "../../contract-fields";
import { base } from "../../rpc/base";
import { ROLE_NAMES } from "./permission-statements";

const address = evmAddress("address").meta({ description: "EVM address (any case); stored checksummed" });
const userId = z.string().min(1).max(64).meta({ description: "User id" });

const roleName = z.enum(ROLE_NAMES);

const usersManage = { users: ["manage" as const] };

const wallet = z.object({
  address: z.string(),
  chainId: z.number().int(),
  isPrimary: z.boolean(),
  linkedAt: isoDateTime,
});

const userView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleName,
  emailVerified: z.boolean(),
  banned: z.boolean(),
  banReason: z.string().nullable(),
  banExpiresAt: isoDateTime.nullable(),
  createdAt: isoDateTime,
});

const me = z.object({
  user: userView.omit({ banned: true, banReason: true, banExpiresAt: true }),
  permissions: z.record(z.string(), z.array(z.string())).meta({
    description: "What the caller's role allows, by subject (with an API key: only what the key carries too)",
  }),
  keyGrants: z
    .record(z.string(), z.array(z.string()))
    .nullable()
    .meta({ description: "With an API key: the grants it carries (its allow-list); null for a session" }),
  wallets: z.array(wallet),
  authenticatedWith: z.enum(["session", "api-key"]),
});

const linkWalletInput = z.object({
  message: z
    .string()
    .min(1)
    .max(4_000)
    .meta({ description: "The EIP-4361 (SIWE) message, with a nonce from /api/auth/siwe/nonce" }),
  signature: z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, "expected a 0x-prefixed hex signature")
    .max(2_000),
});

const listUsersInput = z.object({
  search: z.string().trim().max(200).optional().meta({ description: "Part of an e-mail address or name" }),
  role: roleName.optional(),
  cursor: pageCursor(300),
  limit: pageLimit(100).default(25),
});

const usersPage = z.object({
  items: z.array(userView).meta({ description: "Newest first" }),
  nextCursor: z.string().nullable().meta({ description: "Null on the last page" }),
});

export const authContract = {
  me: {
    get: base
      .route({ method: "GET", path: "/me", tags: ["me"], summary: "The signed-in user, role, permissions and wallets" })
      .meta({ access: "user", keyGrant: { me: ["read"] } })
      .output(me),
    wallets: {
      link: base
        .route({
          method: "POST",
          path: "/me/wallets",
          tags: ["me"],
          summary: "Link a wallet by signing a SIWE message",
        })
        .meta({ access: "user", keyGrant: { wallets: ["link"] }, rateLimit: "me.wallets", errors: ["CONFLICT"] })
        .input(linkWalletInput)
        .output(wallet),
      unlink: base
        .route({ method: "DELETE", path: "/me/wallets/{address}", tags: ["me"], summary: "Unlink one of your wallets" })
        .meta({
          access: "user",
          keyGrant: { wallets: ["unlink"] },
          rateLimit: "me.wallets",
          errors: ["NOT_FOUND", "PRECONDITION_FAILED"],
        })
        .input(z.object({ address }))
        .output(z.object({ unlinked: z.literal(true) })),
    },
  },
  users: {
    list: base
      .route({ method: "GET", path: "/users", tags: ["users"], summary: "Search users, newest first (admin)" })
      .meta({ access: "user", permission: usersManage, keyGrant: { users: ["read"] } })
      .input(listUsersInput)
      .output(usersPage),
    setRole: base
      .route({ method: "PUT", path: "/users/{id}/role", tags: ["users"], summary: "Change a user's role (admin)" })
      .meta({
        access: "user",
        permission: usersManage,
        keyGrant: usersManage,
        rateLimit: "users.manage",
        errors: ["NOT_FOUND", "PRECONDITION_FAILED"],
      })
      .input(z.object({ id: userId, role: roleName }))
      .output(userView),
    ban: base
      .route({
        method: "POST",
        path: "/users/{id}/ban",
        tags: ["users"],
        summary: "Ban a user, end their sessions and disable their API keys (admin)",
      })
      .meta({
        access: "user",
        permission: usersManage,
        keyGrant: usersManage,
        rateLimit: "users.manage",
        errors: ["NOT_FOUND", "PRECONDITION_FAILED"],
      })
      .input(
        z.object({
          id: userId,
          reason: z.string().trim().min(1).max(500),
          expiresInSeconds: z
            .number()
            .int()
            .min(60)
            .max(10 * 365 * 24 * 3600)
            .optional(),
        }),
      )
      .output(userView),
    unban: base
      .route({ method: "POST", path: "/users/{id}/unban", tags: ["users"], summary: "Lift a ban (admin)" })
      .meta({
        access: "user",
        permission: usersManage,
        keyGrant: usersManage,
        rateLimit: "users.manage",
        errors: ["NOT_FOUND"],
      })
      .input(z.object({ id: userId }))
      .output(userView),
    revokeSessions: base
      .route({
        method: "POST",
        path: "/users/{id}/sessions/revoke",
        tags: ["users"],
        summary: "End all of a user's sessions and disable their API keys (admin)",
      })
      .meta({
        access: "user",
        permission: usersManage,
        keyGrant: usersManage,
        rateLimit: "users.manage",
        errors: ["NOT_FOUND"],
      })
      .input(z.object({ id: userId }))
      .output(
        z.object({
          revoked: z.number().int().meta({ description: "Sessions ended" }),
          apiKeysDisabled: z
            .number()
            .int()
            .meta({ description: "API keys disabled (the owner may enable them again)" }),
        }),
      ),
  },
};
