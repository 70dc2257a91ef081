"""Reading the reference data of data/reference/ (parameters, the zorgkassen list, the agency's addresses)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from pipelines.params import ParameterTable

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"


@dataclass(frozen=True)
class Reference:
    parameters: ParameterTable
    parameters_sha256: str
    zorgkassen: pl.DataFrame  # code, name, iban, bic, creditor_id

    @property
    def zorgkas_codes(self) -> list[str]:
        return self.zorgkassen["code"].to_list()


def load_reference(directory: Path = REFERENCE_DIR) -> Reference:
    """The parameters and the zorgkassen list, with the digest of the parameter file."""
    param_path = directory / "parameters.yaml"
    raw = param_path.read_bytes()
    zorgkassen = pl.read_csv(directory / "zorgkassen.csv", schema_overrides={"code": pl.String})
    return Reference(
        parameters=ParameterTable(yaml.safe_load(raw)),
        parameters_sha256=hashlib.sha256(raw).hexdigest(),
        zorgkassen=zorgkassen,
    )


def load_agency(directory: Path = REFERENCE_DIR) -> dict[str, dict[str, str]]:
    """The Agentschap Vlaamse Sociale Bescherming as the letters print it (L-APPEAL, data/reference/agency.yaml), per
    language (NL, FR): its name, web address and postal address on one line."""
    agency = yaml.safe_load((directory / "agency.yaml").read_text(encoding="utf-8"))
    postal = agency["postal"]
    return {
        language: {
            "name": agency["name"],
            "web": agency["web"]["value"],
            "address": f"{postal['street']}, {postal['postal_code']} {postal['city'][language.lower()]}",
        }
        for language in ("NL", "FR")
    }
