/**
 * Usernames are 3 to 32 ASCII letters, digits, `_`, `.` or `-`, stored as given and unique
 * case-insensitively. Anything else, Unicode look-alikes included, is refused rather than
 * normalised, so two different byte strings can never map to one account.
 */
const pattern = /^[A-Za-z0-9_.-]{3,32}$/;

export const usernameRule = "3 to 32 characters: ASCII letters, digits, '_', '.' or '-'";

export const isValidUsername = (value: string): boolean => pattern.test(value);

/** The key that makes usernames unique: `Alice` and `alice` claim the same one. */
export const usernameKey = (username: string): string => `username:${username.toLowerCase()}`;
