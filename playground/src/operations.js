// The tabs a first visit opens with (GraphiQL keeps the user's own tabs in localStorage after that).
// Comment lines stay short enough to read without scrolling at the default editor width.

export const FINDINGS = `# Open critical and high findings, and the repository
# each came from. The docs (book icon, top left) list
# every type and field; Ctrl-Space completes.
query CriticalFindings {
  findings(
    first: 20
    filter: { severity: [CRITICAL, HIGH], status: OPEN }
  ) {
    totalCount
    edges {
      node {
        id
        severity
        kind
        title
        cveId
        packageName
        secretType
        firstSeenAt
        repository {
          fullName
          organization { name provider }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

export const JOBS = `# The 20 most recent migration jobs, with their
# project and agent. Narrow them with, e.g.,
#   filter: { status: [RUNNING, QUEUED] }
query Jobs {
  jobs(last: 20) {
    totalCount
    nodes {
      id
      name
      kind
      status
      itemsDone
      itemsTotal
      gbTransferred
      startedAt
      project { name }
      agent { name status }
    }
    pageInfo { hasPreviousPage startCursor }
  }
}
`;

export const JOB_PROGRESS = `# Live progress of one job, over WebSocket
# (graphql-transport-ws at /graphql/ws). Put a job's id
# in the variables below (the Jobs tab lists them) and
# run: updates stream in until the job ends or you stop.
subscription JobProgress($jobId: ID!) {
  jobProgress(jobId: $jobId) {
    status
    itemsDone
    itemsTotal
    bytesDone
    bytesTotal
  }
}
`;

export function defaultTabs(jobId) {
  const variables = JSON.stringify({ jobId: jobId ?? 'paste a Job id from the Jobs tab' }, null, 2);
  return [{ query: FINDINGS }, { query: JOBS }, { query: JOB_PROGRESS, variables }];
}
