package gitlabtest

import (
	"encoding/json"
	"slices"
	"sync/atomic"
	"time"
)

// timeLayout is how GitLab's REST API renders timestamps: UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Time is a timestamp that marshals like GitLab's REST API
// ("2024-01-02T03:04:05.123Z"); the zero Time marshals as null.
type Time struct{ time.Time }

// T wraps t as a Time.
func T(t time.Time) Time { return Time{t} }

// MarshalJSON renders the time in UTC with milliseconds, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts null or any RFC 3339 timestamp.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// jsonCache holds an object's encoded JSON so that list endpoints encode each
// object once, not once per request. Mutations reset it.
type jsonCache struct{ p atomic.Pointer[[]byte] }

func (c *jsonCache) get(v any) []byte {
	if c == nil {
		b, _ := json.Marshal(v)
		return b
	}
	if b := c.p.Load(); b != nil {
		return *b
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Every type here marshals; a failure would be a bug in this package.
		b = []byte("null")
	}
	c.p.Store(&b)
	return b
}

// getWith is get encoding with enc, which appends to dst the bytes
// json.Marshal would give, or says false to leave them to it. enc appends
// to *scratch, which the caller reuses: what getWith returns is valid
// until its next call with the same scratch (a cached copy is the
// cache's own).
func (c *jsonCache) getWith(v any, scratch *[]byte, enc func(dst []byte) ([]byte, bool)) []byte {
	if c != nil {
		if b := c.p.Load(); b != nil {
			return *b
		}
	}
	b, ok := enc((*scratch)[:0])
	if !ok {
		return c.get(v)
	}
	*scratch = b
	if c == nil {
		return b
	}
	own := slices.Clone(b)
	c.p.Store(&own)
	return own
}

func (c *jsonCache) reset() {
	if c != nil {
		c.p.Store(nil)
	}
}

// UserBasic is GitLab's short user shape, embedded in authors, assignees, …
type UserBasic struct {
	ID        int     `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

// User is a GitLab user, as GET /user answers for the token's user.
type User struct {
	ID          int     `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	Locked      bool    `json:"locked"`
	AvatarURL   *string `json:"avatar_url"`
	WebURL      string  `json:"web_url"`
	CreatedAt   Time    `json:"created_at"`
	Bio         string  `json:"bio"`
	Location    string  `json:"location"`
	PublicEmail string  `json:"public_email"`
	Email       string  `json:"email"`
	Bot         bool    `json:"bot"`
	IsAdmin     bool    `json:"is_admin"`
}

// Basic returns the user's short shape.
func (u *User) Basic() UserBasic {
	return UserBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: u.State, Locked: u.Locked, AvatarURL: u.AvatarURL, WebURL: u.WebURL}
}

// Namespace is the namespace object embedded in a project.
type Namespace struct {
	ID        int     `json:"id"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	Kind      string  `json:"kind"`
	FullPath  string  `json:"full_path"`
	ParentID  *int    `json:"parent_id"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

// ProjectLinks is a project's _links object.
type ProjectLinks struct {
	Self          string `json:"self"`
	Issues        string `json:"issues"`
	MergeRequests string `json:"merge_requests"`
	RepoBranches  string `json:"repo_branches"`
	Labels        string `json:"labels"`
	Events        string `json:"events"`
	Members       string `json:"members"`
	ClusterAgents string `json:"cluster_agents"`
}

// ProjectStatistics is returned with statistics=true.
type ProjectStatistics struct {
	CommitCount      int `json:"commit_count"`
	StorageSize      int `json:"storage_size"`
	RepositorySize   int `json:"repository_size"`
	WikiSize         int `json:"wiki_size"`
	LFSObjectsSize   int `json:"lfs_objects_size"`
	JobArtifactsSize int `json:"job_artifacts_size"`
	PackagesSize     int `json:"packages_size"`
	SnippetsSize     int `json:"snippets_size"`
	UploadsSize      int `json:"uploads_size"`
}

// SharedGroup is an entry of a project's shared_with_groups.
type SharedGroup struct {
	GroupID          int    `json:"group_id"`
	GroupName        string `json:"group_name"`
	GroupFullPath    string `json:"group_full_path"`
	GroupAccessLevel int    `json:"group_access_level"`
}

// Project is a GitLab project in the shape of GET /projects/:id.
type Project struct {
	ID                               int                `json:"id"`
	Description                      *string            `json:"description"`
	Name                             string             `json:"name"`
	NameWithNamespace                string             `json:"name_with_namespace"`
	Path                             string             `json:"path"`
	PathWithNamespace                string             `json:"path_with_namespace"`
	CreatedAt                        Time               `json:"created_at"`
	UpdatedAt                        Time               `json:"updated_at"`
	DefaultBranch                    *string            `json:"default_branch"`
	TagList                          []string           `json:"tag_list"`
	Topics                           []string           `json:"topics"`
	SSHURLToRepo                     string             `json:"ssh_url_to_repo"`
	HTTPURLToRepo                    string             `json:"http_url_to_repo"`
	WebURL                           string             `json:"web_url"`
	ReadmeURL                        *string            `json:"readme_url"`
	ForksCount                       int                `json:"forks_count"`
	AvatarURL                        *string            `json:"avatar_url"`
	StarCount                        int                `json:"star_count"`
	LastActivityAt                   Time               `json:"last_activity_at"`
	Namespace                        Namespace          `json:"namespace"`
	Links                            ProjectLinks       `json:"_links"`
	EmptyRepo                        bool               `json:"empty_repo"`
	Archived                         bool               `json:"archived"`
	Visibility                       string             `json:"visibility"`
	Owner                            *UserBasic         `json:"owner,omitempty"`
	IssuesEnabled                    bool               `json:"issues_enabled"`
	MergeRequestsEnabled             bool               `json:"merge_requests_enabled"`
	WikiEnabled                      bool               `json:"wiki_enabled"`
	JobsEnabled                      bool               `json:"jobs_enabled"`
	SnippetsEnabled                  bool               `json:"snippets_enabled"`
	ContainerRegistryEnabled         bool               `json:"container_registry_enabled"`
	IssuesAccessLevel                string             `json:"issues_access_level"`
	RepositoryAccessLevel            string             `json:"repository_access_level"`
	MergeRequestsAccessLevel         string             `json:"merge_requests_access_level"`
	BuildsAccessLevel                string             `json:"builds_access_level"`
	CreatorID                        int                `json:"creator_id"`
	ImportStatus                     string             `json:"import_status"`
	OpenIssuesCount                  int                `json:"open_issues_count"`
	CIDefaultGitDepth                int                `json:"ci_default_git_depth"`
	PublicJobs                       bool               `json:"public_jobs"`
	SharedWithGroups                 []SharedGroup      `json:"shared_with_groups"`
	OnlyAllowMergeIfPipelineSucceeds bool               `json:"only_allow_merge_if_pipeline_succeeds"`
	RequestAccessEnabled             bool               `json:"request_access_enabled"`
	MergeMethod                      string             `json:"merge_method"`
	SquashOption                     string             `json:"squash_option"`
	MarkedForDeletionAt              *string            `json:"marked_for_deletion_at"`
	MarkedForDeletionOn              *string            `json:"marked_for_deletion_on"`
	Statistics                       *ProjectStatistics `json:"statistics,omitempty"`

	cache *jsonCache
}

// Group is a GitLab group in the shape of GET /groups/:id (without projects).
type Group struct {
	ID                             int     `json:"id"`
	WebURL                         string  `json:"web_url"`
	Name                           string  `json:"name"`
	Path                           string  `json:"path"`
	Description                    string  `json:"description"`
	Visibility                     string  `json:"visibility"`
	ShareWithGroupLock             bool    `json:"share_with_group_lock"`
	RequireTwoFactorAuthentication bool    `json:"require_two_factor_authentication"`
	TwoFactorGracePeriod           int     `json:"two_factor_grace_period"`
	ProjectCreationLevel           string  `json:"project_creation_level"`
	AutoDevopsEnabled              *bool   `json:"auto_devops_enabled"`
	SubgroupCreationLevel          string  `json:"subgroup_creation_level"`
	EmailsDisabled                 bool    `json:"emails_disabled"`
	EmailsEnabled                  bool    `json:"emails_enabled"`
	MentionsDisabled               *bool   `json:"mentions_disabled"`
	LFSEnabled                     bool    `json:"lfs_enabled"`
	DefaultBranch                  *string `json:"default_branch"`
	DefaultBranchProtection        int     `json:"default_branch_protection"`
	AvatarURL                      *string `json:"avatar_url"`
	RequestAccessEnabled           bool    `json:"request_access_enabled"`
	FullName                       string  `json:"full_name"`
	FullPath                       string  `json:"full_path"`
	CreatedAt                      Time    `json:"created_at"`
	ParentID                       *int    `json:"parent_id"`
	OrganizationID                 int     `json:"organization_id"`
	SharedRunnersSetting           string  `json:"shared_runners_setting"`
	MarkedForDeletionOn            *string `json:"marked_for_deletion_on"`
	Archived                       bool    `json:"archived"`

	cache *jsonCache
}

// Milestone is a project milestone (only its shape is modelled).
type Milestone struct {
	ID          int     `json:"id"`
	IID         int     `json:"iid"`
	ProjectID   int     `json:"project_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	State       string  `json:"state"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
	DueDate     *string `json:"due_date"`
	StartDate   *string `json:"start_date"`
	WebURL      string  `json:"web_url"`
}

// References is the references object of MRs and issues.
type References struct {
	Short    string `json:"short"`
	Relative string `json:"relative"`
	Full     string `json:"full"`
}

// TimeStats is the time_stats object of MRs and issues.
type TimeStats struct {
	TimeEstimate        int     `json:"time_estimate"`
	TotalTimeSpent      int     `json:"total_time_spent"`
	HumanTimeEstimate   *string `json:"human_time_estimate"`
	HumanTotalTimeSpent *string `json:"human_total_time_spent"`
}

// TaskCompletionStatus is the task_completion_status object.
type TaskCompletionStatus struct {
	Count          int `json:"count"`
	CompletedCount int `json:"completed_count"`
}

// MergeRequest is a merge request in the shape of the list endpoints.
type MergeRequest struct {
	ID                          int                  `json:"id"`
	IID                         int                  `json:"iid"`
	ProjectID                   int                  `json:"project_id"`
	Title                       string               `json:"title"`
	Description                 string               `json:"description"`
	State                       string               `json:"state"`
	Imported                    bool                 `json:"imported"`
	ImportedFrom                string               `json:"imported_from"`
	MergedBy                    *UserBasic           `json:"merged_by"`
	MergeUser                   *UserBasic           `json:"merge_user"`
	MergedAt                    Time                 `json:"merged_at"`
	PreparedAt                  Time                 `json:"prepared_at"`
	ClosedBy                    *UserBasic           `json:"closed_by"`
	ClosedAt                    Time                 `json:"closed_at"`
	CreatedAt                   Time                 `json:"created_at"`
	UpdatedAt                   Time                 `json:"updated_at"`
	TargetBranch                string               `json:"target_branch"`
	SourceBranch                string               `json:"source_branch"`
	Upvotes                     int                  `json:"upvotes"`
	Downvotes                   int                  `json:"downvotes"`
	Author                      UserBasic            `json:"author"`
	Assignee                    *UserBasic           `json:"assignee"`
	Assignees                   []UserBasic          `json:"assignees"`
	Reviewers                   []UserBasic          `json:"reviewers"`
	SourceProjectID             int                  `json:"source_project_id"`
	TargetProjectID             int                  `json:"target_project_id"`
	Labels                      []string             `json:"labels"`
	Draft                       bool                 `json:"draft"`
	WorkInProgress              bool                 `json:"work_in_progress"`
	Milestone                   *Milestone           `json:"milestone"`
	MergeWhenPipelineSucceeds   bool                 `json:"merge_when_pipeline_succeeds"`
	MergeStatus                 string               `json:"merge_status"`
	DetailedMergeStatus         string               `json:"detailed_merge_status"`
	SHA                         string               `json:"sha"`
	MergeCommitSHA              *string              `json:"merge_commit_sha"`
	SquashCommitSHA             *string              `json:"squash_commit_sha"`
	UserNotesCount              int                  `json:"user_notes_count"`
	DiscussionLocked            *bool                `json:"discussion_locked"`
	ShouldRemoveSourceBranch    *bool                `json:"should_remove_source_branch"`
	ForceRemoveSourceBranch     bool                 `json:"force_remove_source_branch"`
	WebURL                      string               `json:"web_url"`
	References                  References           `json:"references"`
	TimeStats                   TimeStats            `json:"time_stats"`
	Squash                      bool                 `json:"squash"`
	SquashOnMerge               bool                 `json:"squash_on_merge"`
	TaskCompletionStatus        TaskCompletionStatus `json:"task_completion_status"`
	HasConflicts                bool                 `json:"has_conflicts"`
	BlockingDiscussionsResolved bool                 `json:"blocking_discussions_resolved"`

	cache *jsonCache
}

// IssueLinks is an issue's _links object.
type IssueLinks struct {
	Self       string `json:"self"`
	Notes      string `json:"notes"`
	AwardEmoji string `json:"award_emoji"`
	Project    string `json:"project"`
}

// Issue is an issue in the shape of the list endpoints.
type Issue struct {
	ID                   int                  `json:"id"`
	IID                  int                  `json:"iid"`
	ProjectID            int                  `json:"project_id"`
	Title                string               `json:"title"`
	Description          string               `json:"description"`
	State                string               `json:"state"`
	CreatedAt            Time                 `json:"created_at"`
	UpdatedAt            Time                 `json:"updated_at"`
	ClosedAt             Time                 `json:"closed_at"`
	ClosedBy             *UserBasic           `json:"closed_by"`
	Labels               []string             `json:"labels"`
	Milestone            *Milestone           `json:"milestone"`
	Assignees            []UserBasic          `json:"assignees"`
	Author               UserBasic            `json:"author"`
	Type                 string               `json:"type"`
	IssueType            string               `json:"issue_type"`
	Assignee             *UserBasic           `json:"assignee"`
	UserNotesCount       int                  `json:"user_notes_count"`
	MergeRequestsCount   int                  `json:"merge_requests_count"`
	Upvotes              int                  `json:"upvotes"`
	Downvotes            int                  `json:"downvotes"`
	DueDate              *string              `json:"due_date"`
	Confidential         bool                 `json:"confidential"`
	DiscussionLocked     *bool                `json:"discussion_locked"`
	WebURL               string               `json:"web_url"`
	TimeStats            TimeStats            `json:"time_stats"`
	TaskCompletionStatus TaskCompletionStatus `json:"task_completion_status"`
	HasTasks             bool                 `json:"has_tasks"`
	References           References           `json:"references"`
	Severity             string               `json:"severity"`
	Links                IssueLinks           `json:"_links"`
	MovedToID            *int                 `json:"moved_to_id"`
	Imported             bool                 `json:"imported"`
	ImportedFrom         string               `json:"imported_from"`

	cache *jsonCache
}

// DetailedStatus is a pipeline's detailed_status object.
type DetailedStatus struct {
	Icon         string  `json:"icon"`
	Text         string  `json:"text"`
	Label        string  `json:"label"`
	Group        string  `json:"group"`
	Tooltip      string  `json:"tooltip"`
	HasDetails   bool    `json:"has_details"`
	DetailsPath  string  `json:"details_path"`
	Illustration *string `json:"illustration"`
	Favicon      string  `json:"favicon"`
}

// Pipeline is a CI pipeline in the shape of GET /projects/:id/pipelines/:id.
// The list endpoint renders the subset in pipelineBasic.
type Pipeline struct {
	ID             int            `json:"id"`
	IID            int            `json:"iid"`
	ProjectID      int            `json:"project_id"`
	Name           *string        `json:"name"`
	Status         string         `json:"status"`
	Ref            string         `json:"ref"`
	SHA            string         `json:"sha"`
	BeforeSHA      string         `json:"before_sha"`
	Tag            bool           `json:"tag"`
	YAMLErrors     *string        `json:"yaml_errors"`
	User           UserBasic      `json:"user"`
	CreatedAt      Time           `json:"created_at"`
	UpdatedAt      Time           `json:"updated_at"`
	StartedAt      Time           `json:"started_at"`
	FinishedAt     Time           `json:"finished_at"`
	CommittedAt    Time           `json:"committed_at"`
	Duration       *int           `json:"duration"`
	QueuedDuration *float64       `json:"queued_duration"`
	Coverage       *string        `json:"coverage"`
	WebURL         string         `json:"web_url"`
	Source         string         `json:"source"`
	DetailedStatus DetailedStatus `json:"detailed_status"`

	cache *jsonCache
}

// pipelineBasic is the list shape of a pipeline.
type pipelineBasic struct {
	ID        int     `json:"id"`
	IID       int     `json:"iid"`
	ProjectID int     `json:"project_id"`
	SHA       string  `json:"sha"`
	Ref       string  `json:"ref"`
	Status    string  `json:"status"`
	Source    string  `json:"source"`
	CreatedAt Time    `json:"created_at"`
	UpdatedAt Time    `json:"updated_at"`
	WebURL    string  `json:"web_url"`
	Name      *string `json:"name"`
}

func (p *Pipeline) basic() pipelineBasic {
	return pipelineBasic{ID: p.ID, IID: p.IID, ProjectID: p.ProjectID, SHA: p.SHA, Ref: p.Ref, Status: p.Status,
		Source: p.Source, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, WebURL: p.WebURL, Name: p.Name}
}

// CommitBasic is the commit object embedded in jobs, tags and branches.
type CommitBasic struct {
	ID             string            `json:"id"`
	ShortID        string            `json:"short_id"`
	CreatedAt      Time              `json:"created_at"`
	ParentIDs      []string          `json:"parent_ids"`
	Title          string            `json:"title"`
	Message        string            `json:"message"`
	AuthorName     string            `json:"author_name"`
	AuthorEmail    string            `json:"author_email"`
	AuthoredDate   Time              `json:"authored_date"`
	CommitterName  string            `json:"committer_name"`
	CommitterEmail string            `json:"committer_email"`
	CommittedDate  Time              `json:"committed_date"`
	Trailers       map[string]string `json:"trailers"`
	WebURL         string            `json:"web_url"`
}

// JobPipeline is the pipeline object embedded in a job.
type JobPipeline struct {
	ID        int    `json:"id"`
	IID       int    `json:"iid"`
	ProjectID int    `json:"project_id"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
	WebURL    string `json:"web_url"`
}

// JobProject is the project object embedded in a job.
type JobProject struct {
	CIJobTokenScopeEnabled bool `json:"ci_job_token_scope_enabled"`
}

// Job is a CI job in the shape of the jobs endpoints.
type Job struct {
	ID                int         `json:"id"`
	Status            string      `json:"status"`
	Stage             string      `json:"stage"`
	Name              string      `json:"name"`
	Ref               string      `json:"ref"`
	Tag               bool        `json:"tag"`
	Coverage          *float64    `json:"coverage"`
	AllowFailure      bool        `json:"allow_failure"`
	CreatedAt         Time        `json:"created_at"`
	StartedAt         Time        `json:"started_at"`
	FinishedAt        Time        `json:"finished_at"`
	ErasedAt          Time        `json:"erased_at"`
	Duration          *float64    `json:"duration"`
	QueuedDuration    *float64    `json:"queued_duration"`
	User              UserBasic   `json:"user"`
	Commit            CommitBasic `json:"commit"`
	Pipeline          JobPipeline `json:"pipeline"`
	WebURL            string      `json:"web_url"`
	Project           JobProject  `json:"project"`
	Artifacts         []any       `json:"artifacts"`
	ArtifactsExpireAt Time        `json:"artifacts_expire_at"`
	TagList           []string    `json:"tag_list"`
	Runner            any         `json:"runner"`
	FailureReason     string      `json:"failure_reason,omitempty"`
	Archived          bool        `json:"archived"`

	projectID int
	cache     *jsonCache
}

// EnvironmentBasic is the environment object embedded in a deployment.
type EnvironmentBasic struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Slug        string  `json:"slug"`
	ExternalURL *string `json:"external_url"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
}

// Environment is a deployment environment.
type Environment struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Slug        string  `json:"slug"`
	Description *string `json:"description"`
	ExternalURL *string `json:"external_url"`
	State       string  `json:"state"`
	Tier        string  `json:"tier"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
	AutoStopAt  Time    `json:"auto_stop_at"`

	cache *jsonCache
}

// Deployable is the job object embedded in a deployment.
type Deployable struct {
	ID         int         `json:"id"`
	Status     string      `json:"status"`
	Stage      string      `json:"stage"`
	Name       string      `json:"name"`
	Ref        string      `json:"ref"`
	Tag        bool        `json:"tag"`
	CreatedAt  Time        `json:"created_at"`
	StartedAt  Time        `json:"started_at"`
	FinishedAt Time        `json:"finished_at"`
	User       UserBasic   `json:"user"`
	Commit     CommitBasic `json:"commit"`
	Pipeline   JobPipeline `json:"pipeline"`
	WebURL     string      `json:"web_url"`
}

// Deployment is a deployment in the shape of the deployments endpoints.
type Deployment struct {
	ID          int              `json:"id"`
	IID         int              `json:"iid"`
	Ref         string           `json:"ref"`
	SHA         string           `json:"sha"`
	CreatedAt   Time             `json:"created_at"`
	UpdatedAt   Time             `json:"updated_at"`
	Status      string           `json:"status"`
	User        UserBasic        `json:"user"`
	Environment EnvironmentBasic `json:"environment"`
	Deployable  *Deployable      `json:"deployable"`

	finishedAt time.Time
	cache      *jsonCache
}

// ReleaseAssets is a release's assets object.
type ReleaseAssets struct {
	Count   int             `json:"count"`
	Sources []ReleaseSource `json:"sources"`
	Links   []any           `json:"links"`
}

// ReleaseSource is an entry of a release's assets.sources.
type ReleaseSource struct {
	Format string `json:"format"`
	URL    string `json:"url"`
}

// ReleaseLinks is a release's _links object.
type ReleaseLinks struct {
	ClosedIssuesURL        string `json:"closed_issues_url"`
	ClosedMergeRequestsURL string `json:"closed_merge_requests_url"`
	EditURL                string `json:"edit_url"`
	MergedMergeRequestsURL string `json:"merged_merge_requests_url"`
	OpenedIssuesURL        string `json:"opened_issues_url"`
	OpenedMergeRequestsURL string `json:"opened_merge_requests_url"`
	Self                   string `json:"self"`
}

// Release is a project release.
type Release struct {
	TagName         string        `json:"tag_name"`
	Description     string        `json:"description"`
	Name            string        `json:"name"`
	CreatedAt       Time          `json:"created_at"`
	ReleasedAt      Time          `json:"released_at"`
	UpcomingRelease bool          `json:"upcoming_release"`
	Author          UserBasic     `json:"author"`
	Commit          CommitBasic   `json:"commit"`
	CommitPath      string        `json:"commit_path"`
	TagPath         string        `json:"tag_path"`
	Assets          ReleaseAssets `json:"assets"`
	Evidences       []any         `json:"evidences"`
	Links           ReleaseLinks  `json:"_links"`

	cache *jsonCache
}

// TagRelease is the release object embedded in a tag.
type TagRelease struct {
	TagName     string `json:"tag_name"`
	Description string `json:"description"`
}

// Tag is a repository tag.
type Tag struct {
	Name      string      `json:"name"`
	Message   string      `json:"message"`
	Target    string      `json:"target"`
	Commit    CommitBasic `json:"commit"`
	Release   *TagRelease `json:"release"`
	Protected bool        `json:"protected"`
	CreatedAt Time        `json:"created_at"`

	cache *jsonCache
}

// Branch is a repository branch.
type Branch struct {
	Name               string      `json:"name"`
	Merged             bool        `json:"merged"`
	Protected          bool        `json:"protected"`
	Default            bool        `json:"default"`
	DevelopersCanPush  bool        `json:"developers_can_push"`
	DevelopersCanMerge bool        `json:"developers_can_merge"`
	CanPush            bool        `json:"can_push"`
	WebURL             string      `json:"web_url"`
	Commit             CommitBasic `json:"commit"`
}

// Member is a group or project member.
type Member struct {
	ID              int       `json:"id"`
	Username        string    `json:"username"`
	Name            string    `json:"name"`
	State           string    `json:"state"`
	Locked          bool      `json:"locked"`
	AvatarURL       *string   `json:"avatar_url"`
	WebURL          string    `json:"web_url"`
	AccessLevel     int       `json:"access_level"`
	CreatedAt       Time      `json:"created_at"`
	CreatedBy       UserBasic `json:"created_by"`
	ExpiresAt       *string   `json:"expires_at"`
	Email           string    `json:"email,omitempty"`
	MembershipState string    `json:"membership_state"`
	Bot             *bool     `json:"bot,omitempty"`
}

// Hook is a group or project webhook. Token is accepted on creation but, as
// on GitLab, never rendered.
type Hook struct {
	ID                       int     `json:"id"`
	URL                      string  `json:"url"`
	Name                     string  `json:"name"`
	Description              string  `json:"description"`
	GroupID                  *int    `json:"group_id,omitempty"`
	ProjectID                *int    `json:"project_id,omitempty"`
	PushEvents               bool    `json:"push_events"`
	PushEventsBranchFilter   string  `json:"push_events_branch_filter"`
	IssuesEvents             bool    `json:"issues_events"`
	ConfidentialIssuesEvents bool    `json:"confidential_issues_events"`
	MergeRequestsEvents      bool    `json:"merge_requests_events"`
	TagPushEvents            bool    `json:"tag_push_events"`
	NoteEvents               bool    `json:"note_events"`
	ConfidentialNoteEvents   bool    `json:"confidential_note_events"`
	JobEvents                bool    `json:"job_events"`
	PipelineEvents           bool    `json:"pipeline_events"`
	WikiPageEvents           bool    `json:"wiki_page_events"`
	DeploymentEvents         bool    `json:"deployment_events"`
	FeatureFlagEvents        bool    `json:"feature_flag_events"`
	ReleasesEvents           bool    `json:"releases_events"`
	SubgroupEvents           bool    `json:"subgroup_events"`
	MemberEvents             bool    `json:"member_events"`
	ProjectEvents            bool    `json:"project_events"`
	EnableSSLVerification    bool    `json:"enable_ssl_verification"`
	RepositoryUpdateEvents   bool    `json:"repository_update_events"`
	AlertStatus              string  `json:"alert_status"`
	DisabledUntil            *string `json:"disabled_until"`
	CreatedAt                Time    `json:"created_at"`

	// Token is the secret set at creation; it is not part of the JSON.
	Token string `json:"-"`
}

// RepositoryFile is GET /projects/:id/repository/files/:path.
type RepositoryFile struct {
	FileName        string `json:"file_name"`
	FilePath        string `json:"file_path"`
	Size            int    `json:"size"`
	Encoding        string `json:"encoding"`
	ContentSHA256   string `json:"content_sha256"`
	Ref             string `json:"ref"`
	BlobID          string `json:"blob_id"`
	CommitID        string `json:"commit_id"`
	LastCommitID    string `json:"last_commit_id"`
	ExecuteFilemode bool   `json:"execute_filemode"`
	Content         string `json:"content"`
}

// TreeEntry is an entry of GET /projects/:id/repository/tree.
type TreeEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
	Mode string `json:"mode"`
}

// BlobSearchResult is an entry of a scope=blobs search.
type BlobSearchResult struct {
	Basename  string  `json:"basename"`
	Data      string  `json:"data"`
	Path      string  `json:"path"`
	Filename  string  `json:"filename"`
	ID        *string `json:"id"`
	Ref       string  `json:"ref"`
	Startline int     `json:"startline"`
	ProjectID int     `json:"project_id"`
}

// PersonalAccessToken is GET /personal_access_tokens/self.
type PersonalAccessToken struct {
	ID          int      `json:"id"`
	Name        string   `json:"name"`
	Revoked     bool     `json:"revoked"`
	CreatedAt   Time     `json:"created_at"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	UserID      int      `json:"user_id"`
	LastUsedAt  Time     `json:"last_used_at"`
	Active      bool     `json:"active"`
	ExpiresAt   *string  `json:"expires_at"`
}

// Language is one entry of a project's languages, as a percentage share.
type Language struct {
	Name  string
	Share float64
	Color string
}
