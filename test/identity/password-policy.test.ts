import { describe, expect, it } from 'vitest';
import {
  characterClasses,
  checkLoginId,
  checkPassword,
  describeViolation,
  passwordPolicy,
} from '../../src/identity/domain/password-policy.ts';

const loginId = 'alice';

describe('checkPassword', () => {
  it.each([
    ['Abcdefgh1234', 'three classes, 12 characters'],
    ['abcdefgh-1234', 'lower, digit, symbol'],
    ['correct horse battery staple', 'a passphrase of 20+ characters needs no classes'],
    ['ａｂｃｄｅｆｇｈｉｊｋｌ１２３４５６７８９０', 'full-width passphrase'],
  ])('accepts %s (%s)', (password) => {
    expect(checkPassword({ password, loginId })).toEqual([]);
  });

  it('refuses a password shorter than 12 characters', () => {
    expect(checkPassword({ password: 'Ab1!Ab1!Ab1', loginId })).toEqual(['too_short']);
  });

  it('counts characters, not UTF-16 units', () => {
    // 11 emoji are 22 UTF-16 units but only 11 characters.
    expect(checkPassword({ password: 'A1😀😀😀😀😀😀😀😀😀', loginId })).toContain('too_short');
  });

  it('refuses a password longer than the limit', () => {
    const password = `Aa1-${'x'.repeat(passwordPolicy.lengthMax)}`;
    expect(checkPassword({ password, loginId })).toEqual(['too_long']);
  });

  it('needs three character classes below 20 characters', () => {
    expect(checkPassword({ password: 'abcdefghijklmnop', loginId })).toEqual(['too_few_character_classes']);
    expect(checkPassword({ password: 'abcdefghijklmnoP', loginId })).toEqual(['too_few_character_classes']);
    expect(checkPassword({ password: 'abcdefghijklmnopqrst', loginId })).toEqual([]);
  });

  it('refuses the login id in any letter case', () => {
    expect(checkPassword({ password: 'Alice.Smith-2026', loginId: 'alice.smith-2026' })).toEqual([
      'same_as_login_id',
    ]);
  });

  it('refuses the current password', () => {
    expect(
      checkPassword({ password: 'Correct-Horse-42', loginId, currentPassword: 'Correct-Horse-42' }),
    ).toEqual(['same_as_current_password']);
  });

  it('reports every broken rule at once', () => {
    expect(checkPassword({ password: 'alice', loginId })).toEqual([
      'too_short',
      'too_few_character_classes',
      'same_as_login_id',
    ]);
  });

  it('describes each violation', () => {
    expect(describeViolation('too_short')).toBe('must be at least 12 characters long');
    expect(describeViolation('same_as_current_password')).toBe('must differ from the current password');
  });

  it('counts the four classes', () => {
    expect(characterClasses('aA1!')).toBe(4);
    expect(characterClasses('aaaa')).toBe(1);
    expect(characterClasses('a b')).toBe(2);
  });
});

describe('checkLoginId', () => {
  it.each(['alice', 'Alice.Smith', 'bob+kinyu@example.com', 'a'])('accepts %s', (id) => {
    expect(checkLoginId(id)).toBeUndefined();
  });

  it.each(['', ' alice', '.alice', 'al ice', 'ali/ce', 'x'.repeat(65)])('refuses %j', (id) => {
    expect(checkLoginId(id)).toBeTypeOf('string');
  });
});
