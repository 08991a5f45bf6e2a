// What a person's name or a file name may hold so that it shows as it is: used by the KYC contract
// and by sign-up/profile updates (better-auth), so the console never displays a name in disguise.

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
/** Bidirectional embedding, override and isolate characters: "gpj.exe" displayed as "exe.jpg". */
export const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/;

export const CONTROL_CHARACTERS_MESSAGE = "must not contain control characters";
export const BIDI_CONTROLS_MESSAGE =
  "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)";

/** Why `value` cannot be shown as typed, or null when it can. */
export function displayTextProblem(value: string): string | null {
  if (CONTROL_CHARACTERS.test(value)) return CONTROL_CHARACTERS_MESSAGE;
  if (BIDI_CONTROLS.test(value)) return BIDI_CONTROLS_MESSAGE;
  return null;
}
