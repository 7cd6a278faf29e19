"""The chapter studies: experiments built on the pipeline, which import it and are never imported by it.

The pipeline (signals, transforms, data, models, losses, the multi-task methods, training,
metrics, reconstruction) knows nothing of the studies below; each study reads or makes the
numbers of one results chapter:

- :mod:`radarode_lite.studies.results`           stored experiment results with the metadata
  that made them (chapters 12-15)
- :mod:`radarode_lite.studies.table2`            Table II from stored results: means over
  seeds, :math:`\\Delta_m`, seed-paired differences (chapter 12)
- :mod:`radarode_lite.studies.baselines`         trivial baselines on held-out subjects: the
  mean beat, the median cycle, a fixed rate, the signal-processing anchors (chapters 8, 12)
- :mod:`radarode_lite.studies.noise_conditions`  noise conditions, noisy test sets and their
  bursts (chapter 14)
- :mod:`radarode_lite.studies.frameworks`        the three radar-to-ECG frameworks: models,
  training with the benchmark protocol, anchors, 4-s reconstruction (chapter 14)
- :mod:`radarode_lite.studies.direct_regression` the MMECG-style framework: a decoder of the
  whole 4-s ECG on the shared backbone (chapter 14)
- :mod:`radarode_lite.studies.robustness`        scores of the reconstructions, aggregation
  over seeds, the paper's Tables III and V (chapter 14)
- :mod:`radarode_lite.studies.digits`            the damaged-digits multi-task problem
  (chapter 15)

Importing this package imports none of its modules: ``from radarode_lite.studies import table2``.
"""
