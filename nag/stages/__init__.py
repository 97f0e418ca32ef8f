"""One module per DVC stage of the product pipeline (dvc.yaml), each named as its stage and its ``nag``
subcommand, each with one ``run(...)`` that takes its settings and paths and returns its metrics dict.
May import every package but ``cli`` and ``bench``.

==================  ===========================  ==============================
stage               command                      module
==================  ===========================  ==============================
prepare             nag prepare                  nag/stages/prepare.py
train_supernet      nag train-supernet           nag/stages/train_supernet.py
sample_archs        nag sample-archs             nag/stages/sample_archs.py
accuracy            nag accuracy                 nag/stages/accuracy.py
machine             nag machine                  nag/stages/machine.py
latency@<p>         nag latency                  nag/stages/latency.py      (supernet-backed)
table@<p>           nag table                    nag/stages/table.py        (table-backed)
validate@<p>        python -m flows.validate     flows/validate.py          (Great Expectations: glue)
arch_dataset@<p>    nag arch-dataset             nag/stages/arch_dataset.py (supernet-backed)
train_evaluator@<p> nag train-evaluator          nag/stages/train_evaluator.py
train_generator@<p> nag train-generator          nag/stages/train_generator.py
frontier@<p>        nag frontier                 nag/stages/frontier.py
finetune@<p>        nag finetune                 nag/stages/finetune.py     (supernet-backed)
==================  ===========================  ==============================
"""
