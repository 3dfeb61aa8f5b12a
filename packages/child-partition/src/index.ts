/**
 * @viridian/child-partition: see ARCHITECTURE.md for this package's role. Its capabilities arrive with their
 * issues; until then it exports nothing.
 */
export {};
