"""The one table from a case's `case.json["case"]` to the function that runs it."""

from audiox.conformance.cases import backbone, conditioning, fusion, sampling, vae
from audiox.conformance.kinds import CaseKind

CASE_KINDS: dict[str, CaseKind] = {
    **vae.CASE_KINDS,
    **conditioning.CASE_KINDS,
    **fusion.CASE_KINDS,
    **backbone.CASE_KINDS,
    **sampling.CASE_KINDS,
}
