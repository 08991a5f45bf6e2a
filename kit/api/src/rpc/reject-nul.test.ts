// The NUL check runs on every procedure's input: it names the offending field, and its cost does
// not grow with the nesting faster than the input does (no recursion, no path copied per level).
import { expect, test } from "bun:test";
import { ORPCError } from "@orpc/server";
import { rejectNulCharacters } from "./access";

function refusal(input: unknown): { path: string; message: string } | undefined {
  try {
    rejectNulCharacters(input);
    return undefined;
  } catch (error) {
    if (!(error instanceof ORPCError)) throw error;
    return { path: error.data.issues[0].path, message: error.message };
  }
}

test("a NUL character is refused with the path of the field that holds it", () => {
  expect(refusal({ name: "Ada", address: { lines: ["x", "b\u0000d"] } })).toEqual({
    path: "address.lines.1",
    message: "Invalid input: address.lines.1: text must not contain NUL (U+0000) characters",
  });
  expect(refusal("\u0000")?.path).toBe("");
  expect(refusal({ name: "Ada", tags: ["a", "b"], n: 1, none: null })).toBeUndefined();
});

test("input nested 200,000 deep is walked without a recursion", () => {
  let deep: unknown = "bottom\u0000";
  for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { a: deep };
  const refused = refusal(deep);
  expect(refused?.path.split(".").length).toBe(200_000);
  let clean: unknown = "bottom";
  for (let i = 0; i < 200_000; i++) clean = [clean];
  expect(refusal(clean)).toBeUndefined();
});
