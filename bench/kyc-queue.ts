// The KYC reviewer queue at scale (issue 4): a fresh database seeded with 1,000,000 applications
// (one SQL statement over generate_series: a realistic status, country and name mix, submissions
// spread over two years to the microsecond), then the latency of `listQueue` called directly on
// the Kit's own pool — queue pages (status filter, oldest first, 50 rows, keyset cursor) and name
// searches — against the issue's targets: page ≤ 5 ms p95, search ≤ 20 ms p95. Cases are measured
// in interleaved rounds (a, b, c, …, a, b, c, …) so that a slow moment of the machine hits all of
// them; EXPLAIN (ANALYZE, BUFFERS) is printed for every case that misses its target. Then the
// same page and a search once through HTTP (GET /api/kyc/review as a signed-in reviewer).
//
//   bun bench/kyc-queue.ts [--iterations 300] [--rounds 3] [--applications 1000000] [--explain]
//                          [--database NAME] [--name-statistics N]
//
// --explain prints every case's plan, not only the misses'. --database uses (and keeps) that
// database, seeding it only when it holds no application yet: for looking at plans with psql.
// --name-statistics sets the statistics target of the name-search expression (ALTER INDEX … SET
// STATISTICS, then ANALYZE) in the bench's database only: to measure that fix before it is migrated.
// Progress goes to stderr; the results to stdout, whose last line is a JSON summary.
import { parseArgs } from "node:util";
import { encodeCursor } from "../kit/api/src/cursor";
import { createPasswordUser } from "../kit/api/src/domains/auth/service";
import { type QueueInput, queueInput } from "../kit/api/src/domains/kyc/contract-review";
import { listQueue } from "../kit/api/src/domains/kyc/queue";
import type { Database } from "../kit/api/src/infra/db";
import { type BenchKit, startBenchKit } from "./lib/kit";
import { gitCommit, machineInfo, note, print, runBench, table, today } from "./lib/report";

/** The issue's targets, p95 of one call. */
const TARGETS = { pageP95Ms: 5, searchP95Ms: 20 } as const;

/** Unmeasured calls per case before its first measured round. */
const WARMUP_CALLS = 20;
/** A case that is this slow stops early (its figures say over how many calls). */
const MAX_CASE_MS = 20_000;
/** Sequential calls per HTTP case. */
const HTTP_CALLS = 200;

const REVIEWER_EMAIL = "kyc-reviewer@bench.example";
const REVIEWER_PASSWORD = "a long bench password";
const REVIEWERS = 20;
/** better-auth refuses browser-like POSTs from origins it does not trust; this one is in the default list. */
const TRUSTED_ORIGIN = "http://localhost:3000";

interface Options {
  iterations: number;
  rounds: number;
  applications: number;
  explain: boolean;
  database: string | undefined;
  nameStatistics: number | undefined;
}

function parseOptions(argv: string[] = Bun.argv.slice(2)): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: "string" },
      rounds: { type: "string" },
      applications: { type: "string" },
      explain: { type: "boolean" },
      database: { type: "string" },
      "name-statistics": { type: "string" },
    },
    strict: true,
  });
  const whole = (name: "iterations" | "rounds" | "applications" | "name-statistics", fallback: number, min: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw.replaceAll("_", ""));
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return value;
  };
  return {
    iterations: whole("iterations", 300, 1),
    rounds: whole("rounds", 3, 1),
    applications: whole("applications", 1_000_000, 1_000),
    explain: values.explain ?? false,
    database: values.database,
    nameStatistics: values["name-statistics"] === undefined ? undefined : whole("name-statistics", 0, 1),
  };
}

// ─── Seed ────────────────────────────────────────────────────────────────────────────────────────

/** Weighted picks: each value repeated by its share in percent, so a uniform index draws the mix. */
function weighted(shares: Record<string, number>): string[] {
  return Object.entries(shares).flatMap(([value, share]) => Array<string>(share).fill(value));
}

const STATUS_MIX = weighted({
  approved: 50,
  expired: 10,
  rejected: 8,
  revoked: 2,
  draft: 10,
  submitted: 12,
  in_review: 5,
  changes_requested: 3,
});

const COUNTRY_MIX = weighted({
  DE: 24,
  FR: 12,
  GB: 11,
  US: 9,
  NL: 6,
  ES: 6,
  IT: 6,
  CH: 5,
  AT: 4,
  BE: 3,
  SE: 2,
  PL: 2,
  PT: 2,
  IE: 2,
  DK: 1,
  NO: 1,
  FI: 1,
  LU: 1,
  CA: 1,
  JP: 1,
  SG: 1,
});

// Most frequent first: a name's index is drawn as ⌊n·u²⌋ (u uniform), so the first name of each
// list is on ~7 % of rows and the last on ~0.25 %; the rarest first name with the rarest last name
// is on a handful of rows in a million.
const FIRST_NAMES = (
  "Maria Thomas Anna Michael Laura Daniel Julia David Sarah Peter Marie Alexander Sophie Martin Emma Andreas " +
  "Lisa Jan Elena Paul Sofia Stefan Lucas Anne Christian Claire Markus Lena James Hannah John Chiara Marco " +
  "Camille Luca Eva Pierre Nina Jean Katharina Robert Isabel Carlos Charlotte José Clara Antonio Emily Giuseppe " +
  "Olivia William Mia Richard Lea Matthias Sara Tobias Amelie Florian Francesca Sebastian Giulia Javier Lucia " +
  "Nicolas Ines Pablo Alice Francesco Isabelle Manuel Mathilde Sven Ingrid Lars Johanna Jonas Elisabeth Felix " +
  "Martina Lukas Carmen Simon Paula Hugo Valentina Louis Chloe Oliver Grace George Alessandra Henrik Astrid " +
  "Matteo Helena Benjamin Femke Sem Sanne Daan Lotte Bram Fleur Thijs Noor Luuk Ruby Finn Zoe Noah Ava Liam " +
  "Isla Harry Freya Charlie Poppy Oscar Ella Arthur Margaux Antoine Manon Julien Pauline Mathieu Aurélie " +
  "Guillaume Elodie Sergio Alba Diego Nuria Alejandro Marta Miguel Rocío Alessandro Federica Lorenzo Beatrice " +
  "Andrea Silvia Urs Regula Beat Ursula Reto Heidi Piotr Agnieszka Krzysztof Katarzyna João Beatriz Rui Ana " +
  "Seán Siobhan Ciarán Aoife Mads Freja Anders Sigrid Björn Maja Erik Linnea Kevin Jessica Brian Ashley Tyler " +
  "Madison Ethan Abigail Mason Harper Ryan Natalie Jürgen Jörg Günter Käthe René Hélène François Zoé Renée " +
  "Jérôme Søren Åsa Ximena Yusuf Mehmet Aylin Omar Leila Zbigniew Quentin"
).split(" ");

// "_" stands for a space inside a name.
const LAST_NAMES = (
  "Müller Schmidt Smith Martin García Rossi de_Jong Schneider Fischer Bernard Jones Fernández Russo " +
  "Jansen Weber Meyer Dubois Williams González Ferrari de_Vries Wagner Becker Thomas Brown Rodríguez " +
  "Esposito van_den_Berg Schulz Hoffmann Robert Taylor López Bianchi van_Dijk Koch Richard Davies " +
  "Martínez Romano Bakker Bauer Petit Evans Sánchez Colombo Janssen Richter Durand Wilson Pérez Ricci " +
  "Visser Klein Leroy Johnson Gómez Marino Smit Wolf Moreau Roberts Greco Meijer Schröder Simon Walker " +
  "Jiménez Bruno de_Boer Neumann Laurent Wright Ruiz Gallo Mulder Schwarz Lefebvre Robinson Hernández " +
  "Conti de_Groot Zimmermann Michel Thompson Díaz De_Luca Bos Braun Krüger Hofmann Hartmann Lange " +
  "Schmitt Werner Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Huber Kaiser " +
  "Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Keller Frank Berger Roth Beck Lorenz Baumann " +
  "Franke Albrecht Winkler Ludwig Brandt Haas Graf Kuhn Gerber Brunner Baumgartner Moser Fontaine Roux " +
  "Vincent Fournier Girard Bonnet Dupont Lambert Fontana Mancini Costa Giordano Rizzo Lombardi Moretti " +
  "Barbieri Álvarez Moreno Muñoz Romero Navarro Torres Domínguez Vázquez Ramos Gil Serrano Blanco Nowak " +
  "Kowalski Wiśniewski Wójcik Kowalczyk Silva Santos Ferreira Pereira Oliveira Rodrigues Murphy Kelly " +
  "O'Sullivan Walsh O'Brien Byrne Nielsen Jensen Hansen Pedersen Andersson Johansson Karlsson Nilsson " +
  "Eriksson Larsson Miller Anderson Jackson White Harris Clark Lewis Young Hall Allen King Scott Green " +
  "Baker Adams Nelson Hill Campbell Mitchell Carter Yılmaz Kaya Demir Nakamura Okafor Zwicky Quispe Xu"
)
  .split(" ")
  .map((name) => name.replaceAll("_", " "));

interface SeedResult {
  seconds: number;
  steps: Record<string, number>;
  applications: number;
  users: number;
  byStatus: Record<string, number>;
}

/** Set while the seed runs: fails its running statement (see `interrupt`). */
let cancelSeed: (() => void) | undefined;

/**
 * Users first, then every application in one INSERT … SELECT over generate_series, in arrival
 * order (created_at), so the heap is ordered by time as a real table's roughly is.
 */
async function seed(kit: BenchKit, applications: number, reviewerIds: string[]): Promise<SeedResult> {
  const steps: Record<string, number> = {};
  const started = performance.now();
  let lap = started;
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - lap) / 1000;
    lap = now;
    note(`  ${name}: ${steps[name]} s`);
  };
  // A client of its own, destroyed afterwards: the session settings below never reach the pool.
  const client = await kit.deps.pool.connect();
  let released = false;
  const release = (error?: Error) => {
    if (released) return;
    released = true;
    client.release(error ?? true);
  };
  // Ctrl-C: the pool would wait for this client before closing, i.e. for the whole seed. Dropping
  // its connection fails the running statement at once; the database is then dropped with force.
  cancelSeed = () => release(new Error("interrupted"));
  try {
    // The insert trigger only lets drafts in (every status after that is an update along the status
    // graph), and a million rows walked through the graph one update at a time would take far too
    // long: replica mode (superuser only) skips triggers — the guard and the foreign-key checks
    // alike — for this session. CHECK constraints still hold, and the users exist anyway.
    await client.query("set session_replication_role = replica");
    await client.query("set maintenance_work_mem = '1GB'");
    await client.query("set work_mem = '256MB'");
    await client.query("set max_parallel_maintenance_workers = 2");
    // Built after the load, not maintained row by row during it (several times faster for the GIN
    // trigram index), from the definitions the migration created: the same indexes, by the letter.
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `select indexname as name, indexdef as definition from pg_indexes
       where schemaname = 'public' and tablename = 'kyc_applications'
         and indexname not in (select conname from pg_constraint where conrelid = 'kyc_applications'::regclass)`,
    );
    // Statistics targets set on index columns by migrations (the name-search expression's) go with
    // the index: noted here and set again on the rebuilt one.
    const { rows: statisticsTargets } = await client.query<{ index: string; column: number; target: number }>(
      `select c.relname as index, a.attnum::int as column, a.attstattarget::int as target
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_attribute a on a.attrelid = c.oid
       where i.indrelid = 'kyc_applications'::regclass and coalesce(a.attstattarget, -1) >= 0`,
    );
    for (const { name } of indexes) await client.query(`drop index "${name}"`);

    // One open application per user (the partial unique index): open ones get users 1, 2, 3, …
    // in turn; closed ones (rejected, expired, revoked) a random user, who may have several.
    const users = Math.ceil(applications * 0.9);
    await client.query(
      `insert into "user" (id, name, email, email_verified, created_at, updated_at, role)
       select 'bench-user-' || i, 'User ' || i, 'user' || i || '@bench.example', true, t, t, 'investor'
       from (select i, now() - interval '730 days' * random() as t from generate_series(1, $1::int) as i) as u`,
      [users],
    );
    await client.query(
      `insert into "user" (id, name, email, email_verified, created_at, updated_at, role)
       select id, id, id || '@bench.example', true, now(), now(), 'kyc_reviewer' from unnest($1::text[]) as id
       on conflict do nothing`,
      [reviewerIds],
    );
    step(`users (${users.toLocaleString("en")})`);

    await client.query(
      `with g as materialized (
         select i,
           ($1::text[])[1 + floor(random() * cardinality($1::text[]))::int] as status,
           ($2::text[])[1 + floor(random() * cardinality($2::text[]))::int] as country,
           ($3::text[])[1 + floor(cardinality($3::text[]) * power(random(), 2))::int] as first_name,
           ($4::text[])[1 + floor(cardinality($4::text[]) * power(random(), 2))::int] as last_name,
           ($5::text[])[1 + floor(random() * cardinality($5::text[]))::int] as reviewer_id,
           now() - interval '730 days' * random() as created_at,
           random() as r
         from generate_series(1, $6::int) as i
       ), o as (
         select g.*, g.status in ('rejected', 'expired', 'revoked') as closed,
           row_number() over (partition by g.status in ('rejected', 'expired', 'revoked') order by g.i) as n,
           case when g.status <> 'draft'
             then least(now(), g.created_at + interval '3 days' * g.r) end as submitted_at
         from g
       ), d as (
         select o.*,
           case when status in ('approved', 'rejected', 'changes_requested', 'expired', 'revoked')
             then least(now(), submitted_at + interval '72 hours' * random()) end as decided_at
         from o
       )
       insert into kyc_applications (user_id, status, first_name, last_name, nationality, country_of_residence,
         residency_status, address, tax_residencies, date_of_birth_encrypted, national_id_encrypted, pii_key_id,
         reviewer_id, claimed_at, submitted_at, decided_at, expires_at, decision_reason, version, created_at,
         updated_at)
       select
         'bench-user-' || case when closed then 1 + floor(random() * $7::int)::int else n end,
         status,
         case when status = 'draft' and r < 0.2 then null else first_name end,
         case when status = 'draft' and r < 0.3 then null else last_name end,
         case when r < 0.9 then country else 'DE' end,
         country,
         case when r < 0.85 then 'citizen' when r < 0.95 then 'permanent_resident' else 'temporary_resident' end,
         jsonb_build_object('line1', (1 + i % 180) || ' ' || last_name || 'straße', 'city', 'City ' || i % 997,
           'postalCode', lpad((i % 99991)::text, 5, '0'), 'country', country),
         array[country],
         -- Stand-ins for AES-256-GCM ciphertext, about its size (IV, data, tag).
         decode(md5('dob' || i) || md5('dob2' || i) || substr(md5('dob3' || i), 1, 12), 'hex'),
         decode(md5('nid' || i) || md5('nid2' || i) || md5('nid3' || i), 'hex'),
         'bench-key',
         case when status not in ('draft', 'submitted') then reviewer_id end,
         case when status <> 'draft' and status <> 'submitted'
           then submitted_at + (coalesce(decided_at, now()) - submitted_at) * random() end,
         submitted_at,
         decided_at,
         case when status = 'approved' then decided_at + interval '365 days'
              when status in ('expired', 'revoked') then least(now(), decided_at + interval '365 days') end,
         case when status in ('rejected', 'changes_requested', 'revoked') then 'document unreadable' end,
         case when status = 'draft' then 1 else 2 + floor(r * 4)::int end,
         created_at,
         coalesce(decided_at, submitted_at, created_at)
       from d
       order by created_at`,
      [STATUS_MIX, COUNTRY_MIX, FIRST_NAMES, LAST_NAMES, reviewerIds, applications, users],
    );
    step(`applications (${applications.toLocaleString("en")})`);

    for (const { name, definition } of indexes) {
      await client.query(definition);
      step(`index ${name}`);
    }
    for (const { index, column, target } of statisticsTargets) {
      await client.query(`alter index "${index}" alter column ${column} set statistics ${target}`);
    }
    await client.query("set session_replication_role = origin");
    // A real table this size has been vacuumed by autovacuum: hint bits set, visibility map
    // current, statistics fresh. Done here so autovacuum does not do it during the measured runs.
    await client.query(`vacuum (analyze) kyc_applications, "user"`);
    step("vacuum (analyze)");

    const { rows } = await client.query<{ status: string; count: string }>(
      "select status, count(*) from kyc_applications group by status order by count(*) desc",
    );
    return {
      seconds: Math.round(performance.now() - started) / 1000,
      steps,
      applications,
      users,
      byStatus: Object.fromEntries(rows.map((row) => [row.status, Number(row.count)])),
    };
  } finally {
    cancelSeed = undefined;
    release();
  }
}

// ─── Cases ───────────────────────────────────────────────────────────────────────────────────────

type Kind = "page" | "search";

interface Call {
  reviewerId: string;
  input: QueueInput;
  /** For the plan of a miss. */
  label: string;
}

interface Case {
  name: string;
  kind: Kind;
  /** Called in turn, one per iteration. */
  calls: Call[];
  /** A page case must return full pages: fewer rows would mean the seed is not what we think. */
  fullPages: boolean;
}

interface CaseResult {
  name: string;
  kind: Kind;
  targetMs: number;
  calls: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  rowsPerCall: number;
  met: boolean;
}

const lower = (name: string) => name.toLowerCase();

async function buildCases(kit: BenchKit, reviewerIds: string[]): Promise<Case[]> {
  const me = reviewerIds[0] as string;
  const call = (input: Record<string, unknown>, label: string, reviewerId = me): Call => ({
    reviewerId,
    input: queueInput.parse(input),
    label,
  });
  // Cursors at random positions of the submitted queue, in its middle 80 %: each call reads a
  // different part of the index and heap.
  const { rows: deep } = await kit.deps.pool.query<{ at: string; id: string }>(
    `select to_char(submitted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, id::text as id
     from (select submitted_at, id, ntile(10) over (order by submitted_at, id) as decile
           from kyc_applications where status = 'submitted') as q
     where decile between 2 and 9 order by random() limit 50`,
  );
  const common = LAST_NAMES.slice(0, 5).map(lower);
  // One of the rarest last names alone is on ~0.25 % of rows (~2,500): most real surnames are that
  // rare or rarer, and it is the planner's hardest call (too many rows to fetch them all cheaply,
  // too few to find 50 by walking the queue in order).
  const uncommon = LAST_NAMES.slice(-6, -1).map(lower);
  const rare = [0, 1, 2, 3, 4].map((i) => lower(`${FIRST_NAMES.at(-1 - i)} ${LAST_NAMES.at(-1 - i)}`));
  const fragments = ["ann", "mar", "ber", "son", "ell"];
  const countries = ["DE", "FR", "CH", "PL", "JP"];
  const open = "open (submitted + in_review)";
  return [
    { name: `${open}, first page`, kind: "page", fullPages: true, calls: [call({}, "first page")] },
    {
      name: "submitted, deep page (cursor mid-queue)",
      kind: "page",
      fullPages: true,
      calls: deep.map((row) =>
        call({ status: "submitted", cursor: encodeCursor([row.at, row.id]) }, `cursor ${row.at}`),
      ),
    },
    {
      name: "submitted + country",
      kind: "page",
      fullPages: true,
      calls: countries.map((country) => call({ status: "submitted", country }, `country ${country}`)),
    },
    {
      name: `${open}, assigned to me`,
      kind: "page",
      fullPages: true,
      calls: reviewerIds.map((id) => call({ assignedToMe: true }, `reviewer ${id}`, id)),
    },
    {
      name: `search common last name, ${open}`,
      kind: "search",
      fullPages: true,
      calls: common.map((q) => call({ q }, `q ${q}`)),
    },
    {
      name: `search uncommon last name, ${open}`,
      kind: "search",
      fullPages: true,
      calls: uncommon.map((q) => call({ q }, `q ${q}`)),
    },
    {
      name: `search rare full name, ${open}`,
      kind: "search",
      fullPages: false,
      calls: rare.map((q) => call({ q }, `q ${q}`)),
    },
    {
      name: `search 3-letter fragment, ${open}`,
      kind: "search",
      fullPages: true,
      calls: fragments.map((q) => call({ q }, `q ${q}`)),
    },
    {
      name: "search common last name + status approved",
      kind: "search",
      fullPages: true,
      calls: common.map((q) => call({ q, status: "approved" }, `q ${q}`)),
    },
    {
      name: "search rare full name + status approved",
      kind: "search",
      fullPages: false,
      calls: rare.map((q) => call({ q, status: "approved" }, `q ${q}`)),
    },
    {
      name: "search fragment + status submitted + country",
      kind: "search",
      fullPages: false,
      calls: fragments.map((q, i) => call({ q, status: "submitted", country: countries[i] }, `q ${q}`)),
    },
  ];
}

/** Nearest rank. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

async function measureCases(
  db: Database,
  cases: Case[],
  options: Options,
): Promise<{ results: CaseResult[]; slowest: Map<string, Call> }> {
  const run = async (call: Call) => {
    const page = await listQueue({ db }, call.reviewerId, call.input);
    return page.items.length;
  };
  for (const c of cases) {
    if (c.calls.length === 0) throw new Error(`${c.name}: no calls (the seed has no rows for it)`);
    for (let i = 0; i < WARMUP_CALLS; i++) await run(c.calls[i % c.calls.length] as Call);
  }
  const samples = new Map(cases.map((c) => [c.name, [] as number[]]));
  const rows = new Map(cases.map((c) => [c.name, 0]));
  const byCall = new Map(cases.flatMap((c) => c.calls.map((call) => [call, [] as number[]] as const)));
  const spent = new Map(cases.map((c) => [c.name, 0]));
  const perRound = Math.ceil(options.iterations / options.rounds);
  for (let round = 0; round < options.rounds; round++) {
    note(`round ${round + 1}/${options.rounds}: ${perRound} calls per case`);
    for (const c of cases) {
      const ms = samples.get(c.name) as number[];
      const started = performance.now();
      for (let i = 0; i < perRound && ms.length < options.iterations; i++) {
        if ((spent.get(c.name) ?? 0) + performance.now() - started > MAX_CASE_MS) break;
        const call = c.calls[ms.length % c.calls.length] as Call;
        const t0 = performance.now();
        const items = await run(call);
        const elapsed = performance.now() - t0;
        ms.push(elapsed);
        byCall.get(call)?.push(elapsed);
        rows.set(c.name, (rows.get(c.name) ?? 0) + items);
        if (c.fullPages && items !== call.input.limit) {
          throw new Error(`${c.name} (${call.label}): ${items} rows, expected a full page of ${call.input.limit}`);
        }
      }
      spent.set(c.name, (spent.get(c.name) ?? 0) + performance.now() - started);
    }
  }
  const results: CaseResult[] = [];
  const slowest = new Map<string, Call>();
  for (const c of cases) {
    const ms = (samples.get(c.name) as number[]).toSorted((x, y) => x - y);
    const targetMs = c.kind === "page" ? TARGETS.pageP95Ms : TARGETS.searchP95Ms;
    const p95Ms = percentile(ms, 0.95);
    results.push({
      name: c.name,
      kind: c.kind,
      targetMs,
      calls: ms.length,
      p50Ms: round2(percentile(ms, 0.5)),
      p95Ms: round2(p95Ms),
      p99Ms: round2(percentile(ms, 0.99)),
      maxMs: round2(ms.at(-1) ?? Number.NaN),
      rowsPerCall: round2((rows.get(c.name) ?? 0) / ms.length),
      met: p95Ms <= targetMs,
    });
    // The call with the highest median is the one whose plan explains a miss best.
    const median = (call: Call) =>
      percentile(
        (byCall.get(call) ?? []).toSorted((x, y) => x - y),
        0.5,
      );
    slowest.set(
      c.name,
      c.calls.reduce((worst, call) => (median(call) > median(worst) ? call : worst)),
    );
  }
  return { results, slowest };
}

type Query = Parameters<Database["execute"]>[0];
/** drizzle's own rendering of a query (its dialect is internal API; fine for a bench). */
type WithDialect = { dialect: { sqlToQuery(query: Query): { sql: string; params: unknown[] } } };

/** The plan of the query listQueue sends for this call, run for real (EXPLAIN ANALYZE). */
async function explain(kit: BenchKit, call: Call): Promise<string> {
  let captured: Query | undefined;
  const capture = {
    execute: async (query: Query) => {
      captured = query;
      return { rows: [] };
    },
  } as unknown as Database;
  await listQueue({ db: capture }, call.reviewerId, call.input);
  if (!captured) throw new Error("listQueue sent no query");
  const query = (kit.deps.db as unknown as WithDialect).dialect.sqlToQuery(captured);
  const { rows } = await kit.deps.pool.query<{ "QUERY PLAN": string }>(
    `explain (analyze, buffers) ${query.sql}`,
    query.params,
  );
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

// ─── HTTP ────────────────────────────────────────────────────────────────────────────────────────

interface HttpResult {
  path: string;
  calls: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

async function measureHttp(kit: BenchKit, cookie: string, paths: string[]): Promise<HttpResult[]> {
  const get = async (path: string) => {
    const response = await fetch(`${kit.url}${path}`, { headers: { cookie } });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`GET ${path} answered HTTP ${response.status}: ${body.slice(0, 300)}`);
  };
  for (const path of paths) for (let i = 0; i < WARMUP_CALLS; i++) await get(path);
  const results: HttpResult[] = [];
  for (const path of paths) {
    const ms: number[] = [];
    for (let i = 0; i < HTTP_CALLS; i++) {
      const t0 = performance.now();
      await get(path);
      ms.push(performance.now() - t0);
    }
    ms.sort((x, y) => x - y);
    results.push({
      path,
      calls: ms.length,
      p50Ms: round2(percentile(ms, 0.5)),
      p95Ms: round2(percentile(ms, 0.95)),
      p99Ms: round2(percentile(ms, 0.99)),
    });
  }
  return results;
}

/** The bench's reviewer (reviewer #1 of the seed), created once per database, signed in over HTTP. */
async function signedInReviewer(kit: BenchKit): Promise<{ id: string; cookie: string }> {
  await createPasswordUser(kit.deps, {
    email: REVIEWER_EMAIL,
    password: REVIEWER_PASSWORD,
    role: "kyc_reviewer",
    name: "Bench reviewer",
  });
  const { rows } = await kit.deps.pool.query<{ id: string }>('select id from "user" where email = $1', [
    REVIEWER_EMAIL,
  ]);
  const id = rows[0]?.id;
  if (!id) throw new Error(`reviewer ${REVIEWER_EMAIL} not found after creating it`);
  const response = await fetch(`${kit.url}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: TRUSTED_ORIGIN },
    body: JSON.stringify({ email: REVIEWER_EMAIL, password: REVIEWER_PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`sign-in failed: HTTP ${response.status} ${await response.text()}`);
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error("sign-in returned no session cookie");
  return { id, cookie };
}

// ─── Main ────────────────────────────────────────────────────────────────────────────────────────

let kit: BenchKit | undefined;

async function main(): Promise<void> {
  const options = parseOptions();
  const machine = machineInfo();
  note(
    `kyc-queue bench: ${options.applications.toLocaleString("en")} applications, ${options.iterations} calls per ` +
      `case in ${options.rounds} interleaved rounds`,
  );
  const bench = await startBenchKit({
    ...(options.database ? { database: options.database } : {}),
    // Every HTTP call comes from one reviewer: the limiter still counts each, never refuses one.
    env: { RATE_LIMITS: JSON.stringify({ default: { limit: 1_000_000_000, windowSeconds: 1 } }) },
  });
  kit = bench;
  try {
    const reviewer = await signedInReviewer(bench);
    const reviewerIds = [
      reviewer.id,
      ...Array.from({ length: REVIEWERS - 1 }, (_, i) => `bench-reviewer-${String(i + 2).padStart(2, "0")}`),
    ];
    const { rows: existing } = await bench.deps.pool.query<{ n: number }>(
      "select count(*)::int as n from kyc_applications",
    );
    let seeded: SeedResult | undefined;
    if ((existing[0]?.n ?? 0) === 0) {
      note("seeding");
      seeded = await seed(bench, options.applications, reviewerIds);
      note(`seeded in ${seeded.seconds} s`);
    } else {
      note(`database ${options.database} already holds ${existing[0]?.n} applications: not seeding`);
    }

    if (options.nameStatistics !== undefined) {
      // The first column of the trigram index is the searched expression: its statistics feed
      // the planner's estimate of how many names match a LIKE pattern.
      await bench.deps.pool.query(
        `alter index kyc_applications_name_search_idx alter column 1 set statistics ${options.nameStatistics}`,
      );
      await bench.deps.pool.query("analyze kyc_applications");
      note(`name-search statistics target set to ${options.nameStatistics}, table analyzed`);
    }

    const cases = await buildCases(bench, reviewerIds);
    const { results, slowest } = await measureCases(bench.deps.db, cases, options);

    const plans: Record<string, { call: string; plan: string }> = {};
    for (const result of results) {
      if (result.met && !options.explain) continue;
      const call = slowest.get(result.name) as Call;
      plans[result.name] = { call: call.label, plan: await explain(bench, call) };
    }

    note("HTTP: GET /api/kyc/review as the signed-in reviewer");
    const http = await measureHttp(bench, reviewer.cookie, [
      "/api/kyc/review",
      `/api/kyc/review?q=${encodeURIComponent(lower(LAST_NAMES[0] as string))}`,
    ]);

    const commit = gitCommit();
    print(
      `KYC queue — ${today()}, commit ${commit ?? "n/a"}, ${machine.cpus} × ${machine.cpuModel}, Bun ${machine.bun}, ` +
        `load average ${machine.loadAvg1m} before the run`,
    );
    if (options.nameStatistics !== undefined) {
      print(
        `name-search expression statistics target: ${options.nameStatistics} (--name-statistics, instead of the migration's)`,
      );
    }
    if (seeded) {
      print(
        `seed: ${seeded.applications.toLocaleString("en")} applications, ${seeded.users.toLocaleString("en")} users ` +
          `in ${seeded.seconds} s (${Object.entries(seeded.steps)
            .map(([name, s]) => `${name} ${s} s`)
            .join(", ")})`,
      );
      print(
        `statuses: ${Object.entries(seeded.byStatus)
          .map(([status, n]) => `${status} ${n.toLocaleString("en")}`)
          .join(", ")}`,
      );
    }
    print();
    print(
      table(
        ["case (listQueue, direct)", "calls", "rows", "p50 ms", "p95 ms", "p99 ms", "max ms", "target p95", "met"],
        results.map((r) => [
          r.name,
          String(r.calls),
          String(r.rowsPerCall),
          r.p50Ms.toFixed(2),
          r.p95Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          r.maxMs.toFixed(2),
          `≤ ${r.targetMs} ms`,
          r.met ? "yes" : "MISSED",
        ]),
      ),
    );
    print();
    print(
      table(
        ["HTTP (sequential, one reviewer)", "calls", "p50 ms", "p95 ms", "p99 ms"],
        http.map((r) => [r.path, String(r.calls), r.p50Ms.toFixed(2), r.p95Ms.toFixed(2), r.p99Ms.toFixed(2)]),
      ),
    );
    for (const [name, { call, plan }] of Object.entries(plans)) {
      print();
      print(`EXPLAIN (ANALYZE, BUFFERS) — ${name} — ${call}`);
      print(plan);
    }
    print();
    const missed = results.filter((r) => !r.met);
    print(
      missed.length === 0
        ? `targets met: every page ≤ ${TARGETS.pageP95Ms} ms p95, every search ≤ ${TARGETS.searchP95Ms} ms p95`
        : `targets MISSED: ${missed.map((r) => `${r.name} (${r.p95Ms} ms p95)`).join("; ")}`,
    );
    print(
      JSON.stringify({
        bench: "kyc-queue",
        date: new Date().toISOString(),
        commit: commit ?? null,
        machine,
        options: {
          iterations: options.iterations,
          rounds: options.rounds,
          applications: options.applications,
          nameStatistics: options.nameStatistics ?? null,
        },
        seed: seeded ?? null,
        targets: TARGETS,
        cases: results,
        http,
        plans,
      }),
    );
  } finally {
    await bench.stop();
  }
}

// Ctrl-C or SIGTERM: stop the Kit (its database is dropped with force, which ends a running seed
// or query); main then fails and exits.
runBench("kyc-queue", main, {
  interrupt: () => {
    cancelSeed?.();
    void kit?.stop();
  },
  cleanUp: async () => kit?.stop(),
});
