/// Every `code` a problem document may carry (API.md "Errors"): declared once, listed as the
/// enum of `Problem.code` in the OpenAPI document, and held to it by a test, which also checks
/// that each one is provoked by some test or is listed in `unreachableInTests` with the reason.
public enum ErrorCode: String, CaseIterable, Sendable {
    case alreadyContacted = "already_contacted"
    case alreadyDisclosed = "already_disclosed"
    case alreadyEscalated = "already_escalated"
    case alreadyExempt = "already_exempt"
    case alreadyExists = "already_exists"
    case alreadyRated = "already_rated"
    case alreadyRequested = "already_requested"
    case anonymousCase = "anonymous_case"
    case badRequest = "bad_request"
    case calendarOverlap = "calendar_overlap"
    case cannotDeactivateSelf = "cannot_deactivate_self"
    case categoryCycle = "category_cycle"
    case conflict
    case databaseUnavailable = "database_unavailable"
    case deadlinePassed = "deadline_passed"
    case designatedDispatch = "designated_dispatch"
    case extensionNotAllowed = "extension_not_allowed"
    case forbidden
    case hasDuplicates = "has_duplicates"
    case idempotencyKeyReused = "idempotency_key_reused"
    case identityProtected = "identity_protected"
    case inactiveUnit = "inactive_unit"
    case inactiveUser = "inactive_user"
    case internalError = "internal_error"
    case invalidTransition = "invalid_transition"
    case malformedJson = "malformed_json"
    case masterNotOpen = "master_not_open"
    case methodNotAllowed = "method_not_allowed"
    case noContactConsent = "no_contact_consent"
    case noFirstContact = "no_first_contact"
    case noRouting = "no_routing"
    case notARegion = "not_a_region"
    case notAssigned = "not_assigned"
    case notAssistingUnit = "not_assisting_unit"
    case notBelow = "not_below"
    case notConfigured = "not_configured"
    case notFound = "not_found"
    case notLeadUnit = "not_lead_unit"
    case notOwnerUnit = "not_owner_unit"
    case notPassedDown = "not_passed_down"
    case notReviewer = "not_reviewer"
    case notSubCenter = "not_sub_center"
    case nothingOwed = "nothing_owed"
    case passedDown = "passed_down"
    case payloadTooLarge = "payload_too_large"
    case periodNotStarted = "period_not_started"
    case queryTimeout = "query_timeout"
    case rateLimited = "rate_limited"
    case reopenLimit = "reopen_limit"
    case requestLapsed = "request_lapsed"
    case returnPending = "return_pending"
    case sameCase = "same_case"
    case sameUnit = "same_unit"
    case secretAlreadyIssued = "secret_already_issued"
    case sourceConflict = "source_conflict"
    case stepNotLate = "step_not_late"
    case unauthorized
    case unitCycle = "unit_cycle"
    case unknownArticle = "unknown_article"
    case unknownCategory = "unknown_category"
    case unknownMaster = "unknown_master"
    case unknownReference = "unknown_reference"
    case unknownRegion = "unknown_region"
    case unknownUnit = "unknown_unit"
    case unsupportedMediaType = "unsupported_media_type"
    case validationFailed = "validation_failed"

    /// Codes no test provokes through the service, and why.
    public static let unreachableInTests: [ErrorCode: String] = [
        .methodNotAllowed: "Hummingbird 2's router answers another method on a known path with 404, not 405; kept for the day it does",
        .badRequest: "Hummingbird's own 4xx other than 404, 405 and 413; every route of ours reads its input itself",
        .conflict: "the database's unique or serialization refusal behind a check the code makes first: only a race reaches it",
        .unknownReference: "the database's foreign-key refusal behind checks that name the field first: only a race reaches it",
    ]
}
