extension Duration {
    /// The duration in seconds, as a Double.
    public var timeInterval: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
