/** ASCII only, unique case-insensitively; look-alikes are refused, not normalised (decision 10). */
const pattern = /^[A-Za-z0-9_.-]{3,32}$/;

export const usernameRule = "3 to 32 characters: ASCII letters, digits, '_', '.' or '-'";

export const isValidUsername = (value: string): boolean => pattern.test(value);

export const usernameKey = (username: string): string => `username:${username.toLowerCase()}`;
