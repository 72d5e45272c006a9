"""What a page shows to set up two-factor sign-in: the key as a QR code (inline SVG: no
script, no image request) and as text, and the same key sealed for the form to carry back
(the account page, and a sign-in whose project requires a second factor)."""

import segno
from markupsafe import Markup

from astapa.second_factor import provisioning_uri


def enrolment_view(seed: str, sealed: str, account_name: str, issuer_name: str) -> dict:
    uri = provisioning_uri(seed, account_name, issuer_name.replace(":", " ") or "Astapa")
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, title="QR code of your two-factor key"))
    return {"qr": qr, "seed": " ".join(seed[i:i + 4] for i in range(0, len(seed), 4)), "sealed": sealed}
