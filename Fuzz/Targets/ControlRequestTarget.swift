import VLMPublish

/// Every MQTT control payload goes through `ControlRequest.parse` (queries) and `QuestionRequest.parse` (standing
/// questions), the functions the client calls, for each action.
func fuzzControlRequest(_ payload: [UInt8]) {
    for action in ControlRequest.Action.allCases {
        _ = try? ControlRequest.parse(payload, action: action)
        _ = try? QuestionRequest.parse(payload, action: action)
    }
}
