"""The rules of sharing's reason codes: stable, they travel in signed evidence and the API
(each is described in the package's docstring, which a test compares with this set)."""

from __future__ import annotations

NO_LINK = "no_link"
NO_AGREEMENT = "no_agreement"
AGREEMENT_MISMATCH = "agreement_mismatch"
AGREEMENT_NOT_FOR_LINK = "agreement_not_for_link"
CRIME_AREA_NOT_ALLOWED = "crime_area_not_allowed"
KIND_NOT_ALLOWED = "kind_not_allowed"
CLASSIFICATION_ABOVE_CEILING = "classification_above_ceiling"
PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
PERSONAL_DATA_NOT_ALLOWED = "personal_data_not_allowed"
DATA_SUBJECT_NOT_ALLOWED = "data_subject_not_allowed"
ATTACHMENT_TOO_LARGE = "attachment_too_large"
CONFIDENTIALITY_REQUIRED = "confidentiality_required"
RETENTION_EXCEEDS_AGREEMENT = "retention_exceeds_agreement"
ONWARD_TRANSFER_FORBIDDEN = "onward_transfer_forbidden"
ONWARD_TRANSFER_WITHOUT_PERMISSION = "onward_transfer_without_permission"
H2_ONWARD_WITHOUT_PERMISSION = "h2_onward_without_permission"
OTHER_PURPOSE_WITHOUT_PERMISSION = "other_purpose_without_permission"
NOT_SPECIALIST_UNIT = "not_specialist_unit"
ALERT_NEEDS_REVIEW = "alert_needs_review"
POLICY_ERROR = "policy_error"

REASON_CODES = frozenset(
    {
        NO_LINK,
        NO_AGREEMENT,
        AGREEMENT_MISMATCH,
        AGREEMENT_NOT_FOR_LINK,
        CRIME_AREA_NOT_ALLOWED,
        KIND_NOT_ALLOWED,
        CLASSIFICATION_ABOVE_CEILING,
        PURPOSE_NOT_ALLOWED,
        PERSONAL_DATA_NOT_ALLOWED,
        DATA_SUBJECT_NOT_ALLOWED,
        ATTACHMENT_TOO_LARGE,
        CONFIDENTIALITY_REQUIRED,
        RETENTION_EXCEEDS_AGREEMENT,
        ONWARD_TRANSFER_FORBIDDEN,
        ONWARD_TRANSFER_WITHOUT_PERMISSION,
        H2_ONWARD_WITHOUT_PERMISSION,
        OTHER_PURPOSE_WITHOUT_PERMISSION,
        NOT_SPECIALIST_UNIT,
        ALERT_NEEDS_REVIEW,
        POLICY_ERROR,
    }
)
