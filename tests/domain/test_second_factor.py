"""TOTP codes, recovery codes and sealed seeds (astapa/second_factor.py): a code works once
within ±1 step, anything but six ASCII digits is refused, recovery codes match whatever their
spelling but only under their user's salt, and a sealed seed opens only unchanged, under its
key, for its account."""

import base64
import re

import pyotp
import pytest

from astapa.second_factor import (
    RECOVERY_ALPHABET, SealError, SecondFactorError, SeedBox, accepted_step,
    match_recovery_code, new_recovery_codes, new_totp_seed, provisioning_uri,
    recovery_code_hash,
)

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_700_000_015.0  # mid-step, so ±30 s lands in the neighbouring steps
STEP = int(NOW // 30)
KEY = bytes(range(32))
WHERE = "totp:proj_1/user_1"


def code_at(seed: str, when: float) -> str:
    return pyotp.TOTP(seed).at(when)


# --- TOTP --------------------------------------------------------------------------------

def test_a_new_seed_is_160_bits_of_base32_and_seeds_differ():
    seed = new_totp_seed()
    assert re.fullmatch(r"[A-Z2-7]{32}", seed)
    assert len(base64.b32decode(seed)) == 20
    assert seed != new_totp_seed()


def test_the_provisioning_uri_names_the_issuer_and_account():
    uri = provisioning_uri(SEED, "ada@example.org", "Astapa")
    assert uri == f"otpauth://totp/Astapa:ada%40example.org?secret={SEED}&issuer=Astapa"
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP(SEED).now()


@pytest.mark.parametrize("account, issuer", [("", "Astapa"), ("a:b", "Astapa"), ("ada", "As:tapa")])
def test_the_provisioning_uri_refuses_labels_apps_would_misread(account, issuer):
    with pytest.raises(SecondFactorError):
        provisioning_uri(SEED, account, issuer)


def test_the_current_code_is_accepted_and_returns_its_step():
    assert accepted_step(SEED, code_at(SEED, NOW), NOW, None) == STEP


def test_the_same_code_is_refused_once_its_step_was_used():
    code = code_at(SEED, NOW)
    step = accepted_step(SEED, code, NOW, None)
    assert accepted_step(SEED, code, NOW, last_step=step) is None
    assert accepted_step(SEED, code, NOW + 10, last_step=step) is None


def test_an_older_code_is_refused_once_a_later_step_was_used():
    previous = code_at(SEED, NOW - 30)
    assert accepted_step(SEED, previous, NOW, last_step=STEP) is None


def test_a_code_from_one_step_ago_is_accepted_but_not_from_two():
    assert accepted_step(SEED, code_at(SEED, NOW - 30), NOW, None) == STEP - 1
    assert accepted_step(SEED, code_at(SEED, NOW - 60), NOW, None, window=1) is None


def test_a_code_one_step_ahead_is_accepted_but_not_two():
    assert accepted_step(SEED, code_at(SEED, NOW + 30), NOW, None) == STEP + 1
    assert accepted_step(SEED, code_at(SEED, NOW + 60), NOW, None) is None


def test_window_zero_accepts_only_the_current_step():
    assert accepted_step(SEED, code_at(SEED, NOW), NOW, None, window=0) == STEP
    assert accepted_step(SEED, code_at(SEED, NOW - 30), NOW, None, window=0) is None
    with pytest.raises(SecondFactorError):
        accepted_step(SEED, code_at(SEED, NOW), NOW, None, window=-1)


def test_a_code_of_another_seed_is_refused():
    other = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"
    code = code_at(other, NOW)
    assert code not in {code_at(SEED, NOW + d) for d in (-30, 0, 30)}  # fixed seeds: no fluke
    assert accepted_step(SEED, code, NOW, None) is None


def test_spaces_are_ignored():
    code = code_at(SEED, NOW)
    for spelled in (f"{code[:3]} {code[3:]}", f" {code} ", f"\t{code}\n", " ".join(code)):
        assert accepted_step(SEED, spelled, NOW, None) == STEP


@pytest.mark.parametrize("mangle", [
    lambda c: c[:5],                # short
    lambda c: c + "0",              # long
    lambda c: "0" + c,              # long, right digits at the end
    lambda c: c[:5] + "a",          # not a digit
    lambda c: c[:3] + "-" + c[3:],  # a dash is not a space
    lambda c: "",                   # empty
    lambda c: "      ",             # spaces only
    lambda c: c.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # non-ASCII digits
    lambda c: c.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
    lambda c: None,                 # not a string at all
])
def test_anything_but_six_ascii_digits_is_refused(mangle):
    assert accepted_step(SEED, mangle(code_at(SEED, NOW)), NOW, None) is None


def test_the_first_steps_after_the_epoch_are_checked_without_negative_counters():
    assert accepted_step(SEED, code_at(SEED, 0), 5.0, None) == 0
    assert accepted_step(SEED, code_at(SEED, 0), 5.0, last_step=0) is None


# --- Recovery codes ----------------------------------------------------------------------

def test_recovery_codes_are_distinct_and_well_formed():
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    group = f"[{RECOVERY_ALPHABET}]{{4}}"
    assert all(re.fullmatch(f"{group}-{group}-{group}", code) for code in codes)
    assert len(RECOVERY_ALPHABET) == 32 and not set("ilou") & set(RECOVERY_ALPHABET)  # 12 × 5 = 60 bits
    assert len(new_recovery_codes(3)) == 3
    assert set(codes).isdisjoint(new_recovery_codes())


def test_a_recovery_code_matches_its_hash_however_it_is_spelled():
    codes = new_recovery_codes()
    hashes = [recovery_code_hash(code, "salt-ada") for code in codes]
    code = codes[4]
    for spelled in (code, code.upper(), code.replace("-", ""), f" {code} ",
                    code.replace("-", " "), " ".join(code.replace("-", "").upper())):
        assert match_recovery_code(spelled, "salt-ada", hashes) == 4


def test_lookalike_letters_are_read_as_digits():
    hashes = [recovery_code_hash("0101-abcd-efgh", "salt-ada")]
    assert match_recovery_code("oIoL-ABCD-EFGH", "salt-ada", hashes) == 0


def test_a_recovery_code_does_not_match_under_another_salt_or_hash_list():
    codes = new_recovery_codes()
    hashes = [recovery_code_hash(code, "salt-ada") for code in codes]
    assert match_recovery_code(codes[0], "salt-bob", hashes) is None
    assert match_recovery_code(new_recovery_codes(1)[0], "salt-ada", hashes) is None
    assert match_recovery_code(codes[0], "salt-ada", []) is None
    assert recovery_code_hash(codes[0], "salt-ada") != recovery_code_hash(codes[0], "salt-bob")


def test_recovery_code_hashes_are_hex_hmac_sha256():
    assert re.fullmatch(r"[0-9a-f]{64}", recovery_code_hash("abcd-efgh-jkmn", "s"))
    with pytest.raises(SecondFactorError):
        recovery_code_hash("abcd-efgh-jkmn", "")


@pytest.mark.parametrize("code", ["", "abcd-efgh", "abcd-efgh-jkmn-pqrs", "abcd-efgh-jku!", None])
def test_input_that_cannot_be_a_recovery_code_matches_nothing(code):
    hashes = [recovery_code_hash(c, "s") for c in new_recovery_codes()]
    assert match_recovery_code(code, "s", hashes) is None


# --- Sealed seeds ------------------------------------------------------------------------

def test_a_sealed_seed_opens_to_the_seed_and_never_shows_it():
    box = SeedBox(KEY)
    sealed = box.seal(SEED, WHERE)
    assert sealed.startswith("v1.") and SEED not in sealed
    assert re.fullmatch(r"v1\.[A-Za-z0-9_-]+", sealed)
    assert box.open(sealed, WHERE) == SEED
    assert box.seal(SEED, WHERE) != sealed  # a fresh nonce every time


def raw_of(sealed: str) -> bytearray:
    body = sealed[3:]
    return bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def spelled(raw: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("index", [0, 11, 12, -17, -1])  # nonce, ciphertext, tag
def test_a_seal_with_any_byte_changed_does_not_open(index):
    box = SeedBox(KEY)
    raw = raw_of(box.seal(SEED, WHERE))
    raw[index] ^= 0x01
    with pytest.raises(SealError):
        box.open(spelled(raw), WHERE)


def test_a_seal_does_not_open_under_another_key_or_for_another_account():
    sealed = SeedBox(KEY).seal(SEED, WHERE)
    with pytest.raises(SealError):
        SeedBox(bytes(32)).open(sealed, WHERE)
    with pytest.raises(SealError):
        SeedBox(KEY).open(sealed, "totp:proj_1/user_2")


@pytest.mark.parametrize("mangle", [
    lambda s: s[3:],                 # no version
    lambda s: "v2." + s[3:],         # unknown version
    lambda s: s + "=",               # padding
    lambda s: s[:-1],                # truncated
    lambda s: s[:10] + "+" + s[11:],  # standard base64, not base64url
    lambda s: s[:10] + "\n" + s[10:],  # junk a lenient decoder would skip
    lambda s: "v1." + spelled(raw_of(s)[:27])[3:],  # shorter than nonce + tag
    lambda s: "v1.",
    lambda s: None,
])
def test_malformed_seals_do_not_open(mangle):
    box = SeedBox(KEY)
    with pytest.raises(SealError):
        box.open(mangle(box.seal(SEED, WHERE)), WHERE)


def test_a_seal_spelled_with_different_trailing_bits_does_not_open():
    box = SeedBox(KEY)
    # 12 + 32 + 16 = 60 bytes is 80 characters with no spare bits; seal a seed that leaves some.
    sealed = box.seal(SEED + "A", WHERE)
    last = sealed[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]  # differs only in a bit the decoder drops
    with pytest.raises(SealError):
        box.open(sealed[:-1] + twin, WHERE)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33), "0" * 32])
def test_a_seed_box_needs_a_32_byte_key(key):
    with pytest.raises(SecondFactorError):
        SeedBox(key)
