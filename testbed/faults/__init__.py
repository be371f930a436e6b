"""The fault and hostile-input suite: `python -m testbed.faults` (`make faults`).

Drives the real ansible-operator, kube-apiserver and MariaDB of an embedded local environment
through crashes, outages, a burst of CRs and a corpus of hostile manifests, checks the result from
outside the operator and prints one JSON report (see `report.py`).
"""
