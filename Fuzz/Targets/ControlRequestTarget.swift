import VLMPublish

/// Every MQTT control payload goes through `ControlRequest.parse`, the function the client calls, for each action.
func fuzzControlRequest(_ payload: [UInt8]) {
    for action in ControlRequest.Action.allCases {
        _ = try? ControlRequest.parse(payload, action: action)
    }
}
