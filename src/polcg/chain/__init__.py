"""`polcg chain`: cluster → GEBF charges → VaCG and Drude models → ε_IL scan → validation runs →
report, from one YAML file, each stage resumable (see docs/chain.md).

One module per job: `config` (the YAML file), `record` (input hashes and stage records), the
stages `charges_stage`, `model_stage`, `scan`, `validate`, `report`, their helpers
(`transferability`, `runs`, `choice`, `finite_size`, `published`, `plots`), and `pipeline`, which
runs the stages in order. The chain calls the other stages' APIs and sits below the CLI.
"""
