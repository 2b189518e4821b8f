#!/usr/bin/env python3
"""Checksum-valid (and deliberately invalid) identifiers for the redaction corpora.

This is the generator that produced the NIR, IBAN, payment-card, SIRET and SIREN
numbers used in dev.jsonl and heldout.jsonl. All values are random: they belong to
nobody. Every generated value is checked with the verifiers below before it is
returned, and every "bad" value is checked to FAIL its checksum.

    python3 make_numbers.py            # self-test, then print a few samples
    python3 make_numbers.py --seed 7   # other samples

Checks implemented:
  * NIR (French social-security number): key = 97 - (first 13 digits mod 97),
    with Corsica 2A -> 19 and 2B -> 18 in the department position.
  * IBAN: ISO 13616 mod-97 (plus the national check digits for FR RIB key,
    BE, ES, IT CIN and PT, so the national part looks right too).
  * Payment cards and SIRET/SIREN: Luhn.
"""
from __future__ import annotations

import argparse
import random
import re

# --------------------------------------------------------------------------- NIR

def nir_key(first13: str) -> int:
    """Key of a NIR given its first 13 characters (department may be 2A/2B)."""
    s = first13.upper()
    if s[5:7] == "2A":
        s = s[:5] + "19" + s[7:]
    elif s[5:7] == "2B":
        s = s[:5] + "18" + s[7:]
    return 97 - int(s) % 97


def nir_valid(text: str) -> bool:
    c = re.sub(r"[\s.\-]", "", text).upper()
    if not re.fullmatch(r"[1-478]\d{4}(?:\d{2}|2A|2B)\d{8}", c):
        return False
    return int(c[13:]) == nir_key(c[:13])


# INSEE country codes used for people born abroad (department 99).
COUNTRIES = ["350", "352", "351", "341", "335", "139", "127", "134", "243", "216",
             "208", "114", "122", "326", "436"]
DEPTS = ["75"] * 8 + ["92", "93", "94", "77", "78", "91", "95", "13", "69", "59",
                      "33", "31", "44", "35", "67", "06", "62", "76", "29", "63"]


def make_nir(rng: random.Random, sex=None, yy=None, mm=None, dept=None, commune=None) -> str:
    sex = sex or rng.choice("12")
    yy = yy or f"{rng.randint(1940, 2006) % 100:02d}"
    mm = mm or f"{rng.randint(1, 12):02d}"
    if dept is None:
        dept = rng.choice(DEPTS + ["99"])
    if commune is None:
        if dept == "75":
            commune = f"{rng.randint(101, 120)}"
        elif dept == "99":
            commune = rng.choice(COUNTRIES)
        else:
            commune = f"{rng.randint(1, 450):03d}"
    order = f"{rng.randint(1, 999):03d}"
    body = f"{sex}{yy}{mm}{dept}{commune}{order}"
    assert len(body) == 13, body
    nir = body + f"{nir_key(body):02d}"
    assert nir_valid(nir)
    return nir


def bad_nir(rng: random.Random, **kw) -> str:
    """A NIR-shaped number whose key is wrong."""
    while True:
        good = make_nir(rng, **kw)
        if rng.random() < 0.5:
            key = int(good[13:])
            new = rng.choice([k for k in range(1, 98) if k != key])
            bad = good[:13] + f"{new:02d}"
        else:  # change one digit of the order number, keep the key
            i = rng.choice([10, 11, 12])
            d = rng.choice([x for x in "0123456789" if x != good[i]])
            bad = good[:i] + d + good[i + 1:]
        if not nir_valid(bad):
            return bad


def format_nir(n: str, fmt: str = "s") -> str:
    groups = [n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:15]]
    if fmt == "s":
        return " ".join(groups)
    if fmt == "d":
        return ".".join(groups)
    if fmt == "c":
        return n
    if fmt == "k":  # 13 digits, space, key (as on many forms)
        return n[:13] + " " + n[13:]
    raise ValueError(fmt)

# -------------------------------------------------------------------------- IBAN

IBAN_LENGTHS = {"FR": 27, "DE": 22, "BE": 16, "ES": 24, "IT": 27, "NL": 18, "LU": 20,
                "PT": 25, "CH": 21, "GB": 22, "MC": 27, "IE": 22, "AT": 20, "PL": 28,
                "RO": 24}


def _alnum_to_int(s: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in s))


def iban_valid(text: str) -> bool:
    c = re.sub(r"\s", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", c):
        return False
    if IBAN_LENGTHS.get(c[:2]) != len(c):
        return False
    return _alnum_to_int(c[4:] + c[:4]) % 97 == 1


def iban_from_bban(cc: str, bban: str) -> str:
    check = 98 - _alnum_to_int(bban + cc + "00") % 97
    iban = f"{cc}{check:02d}{bban}"
    assert iban_valid(iban), iban
    return iban


_RIB_LETTERS = {c: v for v, cs in enumerate(["", "AJ", "BKS", "CLT", "DMU", "ENV", "FOW",
                                              "GPX", "HQY", "IRZ"]) for c in cs}


def rib_key(bank: str, branch: str, account: str) -> str:
    acc = "".join(str(_RIB_LETTERS[ch]) if ch.isalpha() else ch for ch in account)
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acc)) % 97:02d}"


def _digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


_CIN_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16,
            10, 22, 25, 24, 23]


def it_cin(abi: str, cab: str, account: str) -> str:
    s = abi + cab + account
    total = 0
    for i, ch in enumerate(s):
        v = int(ch) if ch.isdigit() else ord(ch) - 65
        total += _CIN_ODD[v] if i % 2 == 0 else v
    return chr(65 + total % 26)


def make_bban(rng: random.Random, cc: str, bank: str | None = None) -> str:
    if cc in ("FR", "MC"):
        bank = bank or rng.choice(["30004", "30003", "30002", "20041", "10278", "30066", "17515",
                           "18206", "10107", "30056", "40618", "16958", "13335", "11315"])
        branch = _digits(rng, 5)
        if bank == "20041":  # La Banque Postale style account: 7 digits, letter, 3 digits
            account = _digits(rng, 7) + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + "0" + _digits(rng, 2)
        else:
            account = _digits(rng, 11)
        return bank + branch + account + rib_key(bank, branch, account)
    if cc == "DE":
        return rng.choice("12345678") + _digits(rng, 7) + _digits(rng, 10)
    if cc == "BE":
        first = rng.choice(["001", "063", "068", "310", "363", "539", "732", "751"]) + _digits(rng, 7)
        chk = int(first) % 97 or 97
        return first + f"{chk:02d}"
    if cc == "ES":
        bank = rng.choice(["2100", "0049", "0182", "0081", "2085", "0128"])
        branch, account = _digits(rng, 4), _digits(rng, 10)
        w = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]

        def dc(s):
            r = 11 - sum(int(a) * b for a, b in zip(s, w)) % 11
            return {11: 0, 10: 1}.get(r, r)
        return bank + branch + f"{dc('00' + bank + branch)}{dc(account)}" + account
    if cc == "IT":
        abi = rng.choice(["03069", "02008", "05034", "03062", "01030", "05387"])
        cab, account = _digits(rng, 5), _digits(rng, 12)
        return it_cin(abi, cab, account) + abi + cab + account
    if cc == "NL":
        return rng.choice(["ABNA", "INGB", "RABO", "TRIO", "SNSB"]) + _digits(rng, 10)
    if cc == "LU":
        return rng.choice(["001", "002", "003", "014", "019", "030"]) + _digits(rng, 13)
    if cc == "PT":
        s19 = rng.choice(["0033", "0035", "0010", "0007", "0036"]) + _digits(rng, 15)
        return s19 + f"{98 - (int(s19) * 100) % 97:02d}"
    if cc == "CH":
        return _digits(rng, 5) + _digits(rng, 12)
    if cc == "GB":
        return rng.choice(["NWBK", "BARC", "LOYD", "HBUK", "MIDL"]) + _digits(rng, 14)
    if cc == "IE":
        return rng.choice(["AIBK", "BOFI"]) + _digits(rng, 14)
    if cc == "AT":
        return _digits(rng, 16)
    if cc == "PL":
        return _digits(rng, 24)
    if cc == "RO":
        return rng.choice(["BTRL", "RNCB", "BRDE"]) + _digits(rng, 16)
    raise ValueError(cc)


def make_iban(rng: random.Random, cc: str = "FR", bank: str | None = None) -> str:
    """bank: optional 5-digit French bank code (to match a BIC quoted in the text)."""
    iban = iban_from_bban(cc, make_bban(rng, cc, bank))
    assert len(iban) == IBAN_LENGTHS[cc]
    return iban


def bad_iban(rng: random.Random, cc: str = "FR") -> str:
    """An IBAN-shaped string whose mod-97 check fails (wrong check digits or a typo)."""
    while True:
        good = make_iban(rng, cc)
        if rng.random() < 0.5:
            new = rng.choice([k for k in range(2, 99) if f"{k:02d}" != good[2:4]])
            bad = good[:2] + f"{new:02d}" + good[4:]
        else:
            idxs = [i for i in range(4, len(good)) if good[i].isdigit()]
            i = rng.choice(idxs)
            d = rng.choice([x for x in "0123456789" if x != good[i]])
            bad = good[:i] + d + good[i + 1:]
        if not iban_valid(bad):
            return bad


def format_iban(iban: str, fmt: str = "g") -> str:
    grouped = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    if fmt == "g":
        return grouped
    if fmt == "c":
        return iban
    if fmt == "l":
        return grouped.lower()
    raise ValueError(fmt)

# -------------------------------------------------------------------------- Luhn

def luhn_valid(digits: str) -> bool:
    d = re.sub(r"[\s\-]", "", digits)
    if not d.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(d)):
        v = int(ch)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    for d in "0123456789":
        if luhn_valid(partial + d):
            return partial + d
    raise AssertionError


CARD_KINDS = {
    # kind: (prefixes, length)
    "visa": (["4970", "4974", "4973", "4513", "4556", "4132", "4535", "4929", "4019", "4462"], 16),
    "cb": (["4970", "4973", "4976", "5132", "5131"], 16),
    "mc": (["51", "52", "53", "54", "55"], 16),
    "mc2": (["2221", "2223", "2290", "2367", "2511", "2600", "2720"], 16),
    "amex": (["34", "37"], 15),
    "visa13": (["4"], 13),
    "visa19": (["4"], 19),
    "maestro": (["6759", "6761", "5018", "6304"], 19),
}


def make_card(rng: random.Random, kind: str = "visa") -> str:
    prefixes, length = CARD_KINDS[kind]
    p = rng.choice(prefixes)
    card = luhn_complete(p + _digits(rng, length - len(p) - 1))
    assert luhn_valid(card) and len(card) == length
    return card


def bad_card(rng: random.Random, kind: str = "visa") -> str:
    good = make_card(rng, kind)
    bad = good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)
    assert not luhn_valid(bad)
    return bad


def format_card(card: str, fmt: str = "s") -> str:
    n = len(card)
    if n == 15:
        groups = [card[:4], card[4:10], card[10:]]
    elif n == 13:
        groups = [card[:4], card[4:8], card[8:]]
    else:
        groups = [card[i:i + 4] for i in range(0, n, 4)]
    if fmt == "s":
        return " ".join(groups)
    if fmt == "d":
        return "-".join(groups)
    if fmt == "c":
        return card
    raise ValueError(fmt)

# ----------------------------------------------------------------- SIREN / SIRET

def make_siren(rng: random.Random) -> str:
    return luhn_complete(rng.choice("1234589") + _digits(rng, 7))


def make_siret(rng: random.Random) -> str:
    siren = make_siren(rng)
    siret = luhn_complete(siren + "000" + _digits(rng, 1))
    assert luhn_valid(siret) and len(siret) == 14
    return siret


def format_siret(s: str, fmt: str = "s") -> str:
    if fmt == "s":
        return f"{s[:3]} {s[3:6]} {s[6:9]} {s[9:]}"
    if fmt == "c":
        return s
    raise ValueError(fmt)


def format_siren(s: str) -> str:
    return f"{s[:3]} {s[3:6]} {s[6:9]}"

# -------------------------------------------------------------------- self-test

def self_test() -> None:
    # Known-good public test vectors.
    assert iban_valid("FR76 3000 6000 0112 3456 7890 189")
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("FR76 3000 6000 0112 3456 7890 188")
    assert luhn_valid("4111 1111 1111 1111") and not luhn_valid("4111 1111 1111 1112")
    assert luhn_valid("732 829 320 00074")  # a SIRET from INSEE documentation
    assert rib_key("30006", "00001", "12345678901") == "89"
    body = "1841275108123"
    assert nir_valid(body + f"{nir_key(body):02d}")
    rng = random.Random(0)
    for _ in range(2000):
        assert nir_valid(make_nir(rng)) and not nir_valid(bad_nir(rng))
        assert nir_valid(make_nir(rng, dept="2A")) and nir_valid(make_nir(rng, dept="2B"))
        cc = rng.choice(sorted(IBAN_LENGTHS))
        assert iban_valid(make_iban(rng, cc)) and not iban_valid(bad_iban(rng, cc))
        k = rng.choice(sorted(CARD_KINDS))
        assert luhn_valid(make_card(rng, k)) and not luhn_valid(bad_card(rng, k))
        assert luhn_valid(make_siret(rng))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    self_test()
    rng = random.Random(args.seed)
    print("self-test ok")
    print("nir     ", format_nir(make_nir(rng)), "|", format_nir(make_nir(rng, dept="2A")))
    print("bad nir ", format_nir(bad_nir(rng)))
    for cc in ["FR", "DE", "BE", "ES", "IT"]:
        print("iban    ", format_iban(make_iban(rng, cc)))
    print("bad iban", format_iban(bad_iban(rng)))
    for k in ["visa", "mc", "mc2", "amex"]:
        print("card    ", format_card(make_card(rng, k)))
    print("bad card", format_card(bad_card(rng)))
    print("siret   ", format_siret(make_siret(rng)))


if __name__ == "__main__":
    main()
