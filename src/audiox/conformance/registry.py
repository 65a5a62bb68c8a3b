"""The one table from a case's `case.json["case"]` to the function that runs it."""

from audiox.conformance.cases import backbone, conditioning, fusion, sampling, synchformer, vae
from audiox.conformance.kinds import CaseKind

CASE_KINDS: dict[str, CaseKind] = {
    **vae.CASE_KINDS,  # oobleck_vae, vae_oobleck
    **conditioning.CASE_KINDS,  # t5_*, video_*, audio_conditioner_*
    **synchformer.CASE_KINDS,  # synchformer_encoder (the video sync-feature encoder)
    **fusion.CASE_KINDS,  # maf_block
    **backbone.CASE_KINDS,  # dit_forward, mmdit_forward
    **sampling.CASE_KINDS,  # wrappers + samplers: maf_wrapper_mmdit, wrapper_dit_maf, sample_*, sampling_*, turbo_pipeline_*
}
