"""HTTP headers of reads and deposits under consent, shared by the pod and the departments that call it."""

PURPOSE_HEADER = "Consent-Purpose"  # the DPV purpose a department states for a read or deposit
RECEIPT_HEADER = "Consent-Receipt"  # the consent receipt (compact JWS) it presents, if any
LEDGER_INDEX_HEADER = "Consent-Ledger-Index"  # the decision's entry in the transparency ledger
# The id of the consent or legal basis a department relies on, about the citizen it acts for: the pod has
# the decision made on that artefact alone, so it cannot be pointed at another citizen's pod (required to deposit)
ARTEFACT_HEADER = "Consent-Artefact"
