"""Every mapped model, imported once so ``Base.metadata`` is complete (migrations, tests)."""

from inspection_api.anomalies.models import Anomaly, AnomalyEvent
from inspection_api.audit.models import AuditEvent
from inspection_api.auth.models import ApiToken, AuthSession, LoginAttempt
from inspection_api.checklists.models import ChecklistTemplate, ChecklistVersion
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import Base
from inspection_api.inspections.models import (
    CheckIn,
    Evidence,
    Inspection,
    Review,
    SelfCheckInvite,
)
from inspection_api.notifications.models import Notification
from inspection_api.orgs.models import Org
from inspection_api.plans.models import InspectionRecord, Plan, PlanRule, Task
from inspection_api.recordings.models import Recording, RecordingFile
from inspection_api.rectifications.models import (
    Rectification,
    RectificationEvent,
    RectificationPhoto,
)
from inspection_api.remote.models import (
    RemoteInvite,
    RemoteParticipant,
    RemoteParticipantEvent,
    RemoteSession,
)
from inspection_api.sheets.models import BriefingSheet, SupervisorOpinion, UnlockRequest
from inspection_api.uploads.models import ResumableUpload
from inspection_api.users.models import User, UserRole

__all__ = [
    "Anomaly",
    "AnomalyEvent",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "BriefingSheet",
    "CheckIn",
    "ChecklistTemplate",
    "ChecklistVersion",
    "Checkpoint",
    "Evidence",
    "Inspection",
    "InspectionRecord",
    "LoginAttempt",
    "Notification",
    "Org",
    "Plan",
    "PlanRule",
    "Recording",
    "RecordingFile",
    "Rectification",
    "RectificationEvent",
    "RectificationPhoto",
    "RemoteInvite",
    "RemoteParticipant",
    "RemoteParticipantEvent",
    "RemoteSession",
    "ResumableUpload",
    "Review",
    "SelfCheckInvite",
    "SupervisorOpinion",
    "Task",
    "UnlockRequest",
    "User",
    "UserRole",
]
