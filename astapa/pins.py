"""The PIN policy and the PIN's hash.

A PIN is 6 to 12 ASCII digits and not one of the most common ones (NIST SP 800-63B
§5.2.2 and §3.1.1.2: a blocklist of commonly used values; OWASP ASVS 5 §6). What is
common: one digit repeated, a run up or down, a short pattern repeated (121212, 123123),
a keypad line, and the most frequent six-digit PINs in published leak studies.

The stored hash covers the browser's credential secret and the PIN together: HMAC-SHA256
keyed with the secret, then bcrypt (astapa/passwords.py, in its thread pool). So the hash
alone cannot be searched through the million PINs, and no other browser can use the PIN.
"""

import hashlib
import hmac

MIN_DIGITS = 6
MAX_DIGITS = 12

# The most common six-digit PINs beyond the patterns pin_is_common finds (from the leak
# studies of six-digit PINs: Wang et al., ASIA CCS 2017; Markert et al., IEEE S&P 2020).
COMMON_PINS = frozenset("""
123456 654321 111111 000000 123123 666666 121212 112233 789456 159753 456789 987654 147258
123654 258456 131313 252525 101010 102030 147852 159357 123789 321321 520520 520131 246810
112358 142536 123321 110110 202020 212121 147369 741852 963852 369258 258369 753951 951753
852456 456123 135790 246802 100200 111222 222333 000111 999999 888888 777777 555555 444444
333333 222222 696969 131420 520521 201314 584520 521521 518518 168168 888999 778899 102938
121314 010203 112211 123000 123450 098765 159951 357951 753159 147147 258258 369369 789789
456456 654654 987987 135135 246246 232323 343434 454545 565656 676767 787878 898989 909090
""".split())

ASCENDING = "0123456789012345678901"
DESCENDING = "9876543210987654321098"
KEYPAD_LINES = ("147", "258", "369", "741", "852", "963", "159", "357", "951", "753")


class PinPolicyError(ValueError):
    """A PIN the policy refuses; the message is shown to the user next to the field."""


def check_pin(pin: str, repeated: str) -> str:
    """The PIN as kept (digits only, spaces dropped), or PinPolicyError saying why not."""
    pin, repeated = pin.replace(" ", ""), repeated.replace(" ", "")
    if not (pin.isascii() and pin.isdigit()) or not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise PinPolicyError(f"Use {MIN_DIGITS} to {MAX_DIGITS} digits.")
    if pin_is_common(pin):
        raise PinPolicyError("This PIN is too easy to guess. Choose another.")
    if not hmac.compare_digest(pin.encode(), repeated.encode()):
        raise PinPolicyError("The two PINs are not the same.")
    return pin


def pin_is_common(pin: str) -> bool:
    if pin in COMMON_PINS or pin in ASCENDING or pin in DESCENDING:
        return True
    for period in (1, 2, 3, 4):  # 111111, 121212, 123123, 12341234
        if len(pin) >= 2 * period and pin == (pin[:period] * len(pin))[:len(pin)]:
            return True
    return all(pin[i:i + 3] in KEYPAD_LINES for i in range(0, len(pin) - 2, 3)) and len(pin) % 3 == 0


def pin_secret(credential_secret: str, pin: str) -> str:
    """What bcrypt hashes: the credential's secret and the PIN together (HMAC-SHA256, hex)."""
    return hmac.new(credential_secret.encode("utf-8", "replace"), pin.encode("ascii"), hashlib.sha256).hexdigest()
