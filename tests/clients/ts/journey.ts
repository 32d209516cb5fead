// The core money flow through a TypeScript client generated from the served document
// (openapi-typescript types + openapi-fetch), written from the contract as a mobile developer
// would: no casts, no `any`, no non-null assertions; `tsc --strict` must accept it as is.
// tests/clients/test_typescript_client.py generates ./okpay-api.d.ts, type-checks this file, and
// runs it against a live local stage:
//   node journey.js <base url> <agent email> <agent password> <agent TOTP secret (base32)>
import { createHmac } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./okpay-api.js";

type Tokens = components["schemas"]["Tokens"];
type Currency = components["schemas"]["Currency"];

function fail(message: string): never {
  throw new Error(message);
}

const usage = "usage: node journey.js <base url> <agent email> <agent password> <agent TOTP secret>";
const baseUrl = process.argv[2] ?? fail(usage);
const agentEmail = process.argv[3] ?? fail(usage);
const agentPassword = process.argv[4] ?? fail(usage);
const agentTotpSecret = process.argv[5] ?? fail(usage);
const PASSWORD = "Correct-Horse-Battery-9";

function clientFor(token?: string) {
  return createClient<paths>({
    baseUrl,
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
}

const anonymous = clientFor();

async function lastCode(to: string): Promise<string> {
  const { data } = await anonymous.GET("/_local/outbox", { params: { query: { to } } });
  const text = data?.data[0]?.body ?? fail(`no message to ${to}`);
  return /\b(\d{6})\b/.exec(text)?.[1] ?? fail(`no code in ${text}`);
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) from a base32 secret, as an authenticator app computes it.
function totp(base32Secret: string, at: number = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of base32Secret.replace(/=+$/, "")) {
    const value = alphabet.indexOf(char);
    if (value < 0) fail(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const digest = createHmac("sha1", key).update(counter).digest();
  const offset = (digest[digest.length - 1] ?? 0) & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

// An agent signs in with the password, then answers the MFA challenge with TOTP (/admin needs it).
async function signInAgent(login: string, password: string, totpSecret: string): Promise<Tokens> {
  const { data, error } = await anonymous.POST("/auth/login", {
    body: { login, password, device_id: "ts-journey" },
  });
  if (error !== undefined) fail(`sign-in refused: ${error.error.code}`);
  // A choice between tokens and an MFA challenge (oneOf): narrowed, not cast.
  if (!("mfa_token" in data)) fail("an agent signs in with TOTP: expected an MFA challenge");
  if (!data.mfa_methods.includes("totp")) fail(`no TOTP among ${data.mfa_methods.join(", ")}`);
  const verified = await anonymous.POST("/auth/mfa/verify", {
    body: { mfa_token: data.mfa_token, method: "totp", code: totp(totpSecret) },
  });
  if (verified.error !== undefined) fail(`TOTP refused: ${verified.error.error.code}`);
  return verified.data;
}

async function signUp(phone: string, email: string): Promise<Tokens> {
  const started = await anonymous.POST("/auth/register/start", { body: { phone } });
  if (started.response.status !== 202) fail("register/start");
  const { data, error } = await anonymous.POST("/auth/register", {
    body: { phone, code: await lastCode(phone), email, password: PASSWORD, display_name: "张三" },
  });
  if (error !== undefined) fail(`registration refused: ${error.error.code}`);
  return data;
}

function residentId(sequence: string): string {
  // GB 11643: 17 digits and an ISO 7064 MOD 11-2 check character.
  const body = `11010519900501${sequence}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((total, digit, index) => total + Number(digit) * (weights[index] ?? 0), 0);
  return body + ("10X98765432"[sum % 11] ?? fail("check digit"));
}

async function verify(user: Tokens, level: 1 | 2, sequence: string, agent: ReturnType<typeof clientFor>) {
  const client = clientFor(user.access_token);
  const documentIds: string[] = [];
  if (level === 2) {
    for (const kind of ["id_front", "id_back", "selfie"] as const) {
      const { data, error } = await client.POST("/me/kyc/documents", {
        body: { kind, content_type: "image/jpeg" },
      });
      if (error !== undefined) fail(`document refused: ${error.error.code}`);
      const form = new FormData();
      for (const [name, value] of Object.entries(data.upload.fields)) form.append(name, value);
      form.append("file", new Blob([new Uint8Array([0xff, 0xd8, 0x20])], { type: "image/jpeg" }), "scan.jpg");
      const stored = await fetch(data.upload.url, { method: "POST", body: form });
      if (!stored.ok) fail(`upload ${stored.status}`);
      documentIds.push(data.document_id);
    }
  }
  const submitted = await client.POST("/me/kyc", {
    body: {
      real_name: "张三",
      id_type: "cn_resident_id",
      id_number: residentId(sequence),
      target_level: level,
      ...(documentIds.length > 0 ? { document_ids: documentIds } : {}),
    },
  });
  if (submitted.error !== undefined) fail(`KYC refused: ${submitted.error.error.code}`);
  const decided = await agent.POST("/admin/kyc/{user_id}/decision", {
    params: { path: { user_id: user.user_id } },
    body: { decision: "approve", level },
  });
  if (decided.error !== undefined) fail(`decision refused: ${decided.error.error.code}`);
}

async function main(): Promise<void> {
  const agent = clientFor((await signInAgent(agentEmail, agentPassword, agentTotpSecret)).access_token);
  const unique = String(Date.now()).slice(-8);
  const payerPhone = `+86136${unique}`;
  const payer = await signUp(payerPhone, `ts-payer-${unique}@example.com`);
  const payee = await signUp(`+86135${unique}`, `ts-payee-${unique}@example.com`);
  await verify(payer, 2, `${unique.slice(-2)}1`, agent);
  await verify(payee, 1, `${unique.slice(-2)}2`, agent);
  const payerClient = clientFor(payer.access_token);
  const payeeClient = clientFor(payee.access_token);

  const card = await payerClient.POST("/me/funding-sources", {
    body: { type: "bank_card", card_number: "6222021234567890128", holder_name: "张三", password: PASSWORD },
  });
  if (card.error !== undefined) fail(`card refused: ${card.error.error.code}`);
  const cny: Currency = "CNY";
  const topUp = await payerClient.POST("/me/topups", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { funding_source_id: card.data.funding_source_id, amount: 500_000, currency: cny },
  });
  if (topUp.error !== undefined) fail(`top-up refused: ${topUp.error.error.code}`);

  // Past the day's step-up budget: 202 and a transfer waiting for its SMS code.
  const sent = await payerClient.POST("/transfers", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { recipient: { user_id: payee.user_id }, amount: 200_000, currency: cny, note: "房租" },
  });
  if (sent.error !== undefined) fail(`transfer refused: ${sent.error.error.code}`);
  if (sent.response.status !== 202 || sent.data.status !== "requires_confirmation") fail("expected 202");
  const confirmed = await payerClient.POST("/transfers/{transfer_id}/confirm", {
    params: { path: { transfer_id: sent.data.transfer_id }, header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { code: await lastCode(payerPhone) },
  });
  if (confirmed.error !== undefined) fail(`confirmation refused: ${confirmed.error.error.code}`);
  if (confirmed.data.status !== "completed") fail(`transfer ${confirmed.data.status}`);

  // Level 1 allows 1,000 CNY since opening: 1,500 CNY back is 422 limit_exceeded, with typed details.
  const back = await payeeClient.POST("/transfers", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: { recipient: { user_id: payer.user_id }, amount: 150_000, currency: cny },
  });
  const refusal = back.error?.error ?? fail("expected a refusal");
  if (refusal.code !== "limit_exceeded") fail(`expected limit_exceeded, got ${refusal.code}`);
  const remaining: number = refusal.details.remaining.amount;
  const window: "lifetime" | "year" = refusal.details.window;
  console.log(JSON.stringify({ transfer: confirmed.data.status, remaining, window }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
