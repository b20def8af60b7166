"""Contains all the data models used in inputs/outputs"""

from .accepted import Accepted
from .alert import Alert
from .announce_result import AnnounceResult
from .bundle import Bundle
from .bundle_token import BundleToken
from .bundle_token_role import BundleTokenRole
from .conflict import Conflict
from .conflict_changes import ConflictChanges
from .conflict_parameters import ConflictParameters
from .conflicts_page import ConflictsPage
from .force_partner_update_result import ForcePartnerUpdateResult
from .ha_parameters import HAParameters
from .ha_parameters_ha_timeout import HAParametersHaTimeout
from .ha_parameters_patch import HAParametersPatch
from .ha_parameters_patch_ha_timeout_type_0 import HAParametersPatchHaTimeoutType0
from .ha_parameters_patch_preferred_server_type_0 import HAParametersPatchPreferredServerType0
from .ha_parameters_preferred_server import HAParametersPreferredServer
from .ha_parameters_resource import HAParametersResource
from .ha_parameters_resource_ha_timeout import HAParametersResourceHaTimeout
from .ha_parameters_resource_preferred_server import HAParametersResourcePreferredServer
from .ha_parameters_resource_virtual_id_source import HAParametersResourceVirtualIdSource
from .ha_parameters_write import HAParametersWrite
from .ha_parameters_write_ha_timeout import HAParametersWriteHaTimeout
from .ha_parameters_write_preferred_server import HAParametersWritePreferredServer
from .health import Health
from .history_item import HistoryItem
from .history_item_changes import HistoryItemChanges
from .history_page import HistoryPage
from .import_result import ImportResult
from .import_result_changes import ImportResultChanges
from .last_transition import LastTransition
from .links import Links
from .maintenance_view import MaintenanceView
from .maintenance_write import MaintenanceWrite
from .pair_info import PairInfo
from .pair_info_state import PairInfoState
from .pair_status import PairStatus
from .parameter_applied import ParameterApplied
from .parameter_applied_state import ParameterAppliedState
from .parameters_applied import ParametersApplied
from .problem import Problem
from .problem_field import ProblemField
from .role import Role
from .rollback_request import RollbackRequest
from .rotate_result import RotateResult
from .switchover_check import SwitchoverCheck
from .switchover_result import SwitchoverResult
from .token_changes import TokenChanges
from .token_create import TokenCreate
from .token_create_role import TokenCreateRole
from .token_created import TokenCreated
from .token_created_role import TokenCreatedRole
from .token_item import TokenItem
from .token_item_role import TokenItemRole
from .token_list import TokenList
from .track_summary import TrackSummary
from .track_view import TrackView
from .unit_applied import UnitApplied
from .unit_applied_parameters import UnitAppliedParameters
from .unit_patch import UnitPatch
from .unit_patch_mode import UnitPatchMode
from .unit_status import UnitStatus
from .unit_status_reason_type_0 import UnitStatusReasonType0
from .unit_view import UnitView
from .unit_view_mode import UnitViewMode

__all__ = (
    "Accepted",
    "Alert",
    "AnnounceResult",
    "Bundle",
    "BundleToken",
    "BundleTokenRole",
    "Conflict",
    "ConflictChanges",
    "ConflictParameters",
    "ConflictsPage",
    "ForcePartnerUpdateResult",
    "HAParameters",
    "HAParametersHaTimeout",
    "HAParametersPatch",
    "HAParametersPatchHaTimeoutType0",
    "HAParametersPatchPreferredServerType0",
    "HAParametersPreferredServer",
    "HAParametersResource",
    "HAParametersResourceHaTimeout",
    "HAParametersResourcePreferredServer",
    "HAParametersResourceVirtualIdSource",
    "HAParametersWrite",
    "HAParametersWriteHaTimeout",
    "HAParametersWritePreferredServer",
    "Health",
    "HistoryItem",
    "HistoryItemChanges",
    "HistoryPage",
    "ImportResult",
    "ImportResultChanges",
    "LastTransition",
    "Links",
    "MaintenanceView",
    "MaintenanceWrite",
    "PairInfo",
    "PairInfoState",
    "PairStatus",
    "ParameterApplied",
    "ParameterAppliedState",
    "ParametersApplied",
    "Problem",
    "ProblemField",
    "Role",
    "RollbackRequest",
    "RotateResult",
    "SwitchoverCheck",
    "SwitchoverResult",
    "TokenChanges",
    "TokenCreate",
    "TokenCreated",
    "TokenCreatedRole",
    "TokenCreateRole",
    "TokenItem",
    "TokenItemRole",
    "TokenList",
    "TrackSummary",
    "TrackView",
    "UnitApplied",
    "UnitAppliedParameters",
    "UnitPatch",
    "UnitPatchMode",
    "UnitStatus",
    "UnitStatusReasonType0",
    "UnitView",
    "UnitViewMode",
)
