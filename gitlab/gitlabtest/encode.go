package gitlabtest

import (
	"strconv"

	"github.com/oceankit/oceankit/internal/jsonenc"
)

// appendMR appends m encoded exactly as json.Marshal encodes it (a test
// holds the two to the same bytes). ok is false for what it leaves to
// json.Marshal: a merge request with a milestone. A lazy dataset encodes
// every merge request a list shows afresh, and encoding/json's reflection
// was most of a merge-request page's cost.
func appendMR(b []byte, m *MergeRequest) ([]byte, bool) {
	if m.Milestone != nil {
		return b, false
	}
	b = appendKeyInt(b, `{"id":`, m.ID)
	b = appendKeyInt(b, `,"iid":`, m.IID)
	b = appendKeyInt(b, `,"project_id":`, m.ProjectID)
	b = appendJSONString(append(b, `,"title":`...), m.Title)
	b = appendJSONString(append(b, `,"description":`...), m.Description)
	b = appendJSONString(append(b, `,"state":`...), m.State)
	b = strconv.AppendBool(append(b, `,"imported":`...), m.Imported)
	b = appendJSONString(append(b, `,"imported_from":`...), m.ImportedFrom)
	b = appendUserPtr(append(b, `,"merged_by":`...), m.MergedBy)
	b = appendUserPtr(append(b, `,"merge_user":`...), m.MergeUser)
	b = appendTime(append(b, `,"merged_at":`...), m.MergedAt)
	b = appendTime(append(b, `,"prepared_at":`...), m.PreparedAt)
	b = appendUserPtr(append(b, `,"closed_by":`...), m.ClosedBy)
	b = appendTime(append(b, `,"closed_at":`...), m.ClosedAt)
	b = appendTime(append(b, `,"created_at":`...), m.CreatedAt)
	b = appendTime(append(b, `,"updated_at":`...), m.UpdatedAt)
	b = appendJSONString(append(b, `,"target_branch":`...), m.TargetBranch)
	b = appendJSONString(append(b, `,"source_branch":`...), m.SourceBranch)
	b = appendKeyInt(b, `,"upvotes":`, m.Upvotes)
	b = appendKeyInt(b, `,"downvotes":`, m.Downvotes)
	b = appendUser(append(b, `,"author":`...), &m.Author)
	b = appendUserPtr(append(b, `,"assignee":`...), m.Assignee)
	b = appendUsers(append(b, `,"assignees":`...), m.Assignees)
	b = appendUsers(append(b, `,"reviewers":`...), m.Reviewers)
	b = appendKeyInt(b, `,"source_project_id":`, m.SourceProjectID)
	b = appendKeyInt(b, `,"target_project_id":`, m.TargetProjectID)
	b = appendStrings(append(b, `,"labels":`...), m.Labels)
	b = strconv.AppendBool(append(b, `,"draft":`...), m.Draft)
	b = strconv.AppendBool(append(b, `,"work_in_progress":`...), m.WorkInProgress)
	b = append(b, `,"milestone":null`...)
	b = strconv.AppendBool(append(b, `,"merge_when_pipeline_succeeds":`...), m.MergeWhenPipelineSucceeds)
	b = appendJSONString(append(b, `,"merge_status":`...), m.MergeStatus)
	b = appendJSONString(append(b, `,"detailed_merge_status":`...), m.DetailedMergeStatus)
	b = appendJSONString(append(b, `,"sha":`...), m.SHA)
	b = appendStringPtr(append(b, `,"merge_commit_sha":`...), m.MergeCommitSHA)
	b = appendStringPtr(append(b, `,"squash_commit_sha":`...), m.SquashCommitSHA)
	b = appendKeyInt(b, `,"user_notes_count":`, m.UserNotesCount)
	b = appendBoolPtr(append(b, `,"discussion_locked":`...), m.DiscussionLocked)
	b = appendBoolPtr(append(b, `,"should_remove_source_branch":`...), m.ShouldRemoveSourceBranch)
	b = strconv.AppendBool(append(b, `,"force_remove_source_branch":`...), m.ForceRemoveSourceBranch)
	b = appendJSONString(append(b, `,"web_url":`...), m.WebURL)
	b = appendJSONString(append(b, `,"references":{"short":`...), m.References.Short)
	b = appendJSONString(append(b, `,"relative":`...), m.References.Relative)
	b = appendJSONString(append(b, `,"full":`...), m.References.Full)
	b = appendKeyInt(b, `},"time_stats":{"time_estimate":`, m.TimeStats.TimeEstimate)
	b = appendKeyInt(b, `,"total_time_spent":`, m.TimeStats.TotalTimeSpent)
	b = appendStringPtr(append(b, `,"human_time_estimate":`...), m.TimeStats.HumanTimeEstimate)
	b = appendStringPtr(append(b, `,"human_total_time_spent":`...), m.TimeStats.HumanTotalTimeSpent)
	b = strconv.AppendBool(append(b, `},"squash":`...), m.Squash)
	b = strconv.AppendBool(append(b, `,"squash_on_merge":`...), m.SquashOnMerge)
	b = appendKeyInt(b, `,"task_completion_status":{"count":`, m.TaskCompletionStatus.Count)
	b = appendKeyInt(b, `,"completed_count":`, m.TaskCompletionStatus.CompletedCount)
	b = strconv.AppendBool(append(b, `},"has_conflicts":`...), m.HasConflicts)
	b = strconv.AppendBool(append(b, `,"blocking_discussions_resolved":`...), m.BlockingDiscussionsResolved)
	return append(b, '}'), true
}

func appendKeyInt(b []byte, key string, n int) []byte {
	return strconv.AppendInt(append(b, key...), int64(n), 10)
}

// appendTime is Time.MarshalJSON.
func appendTime(b []byte, t Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

func appendUser(b []byte, u *UserBasic) []byte {
	b = appendKeyInt(b, `{"id":`, u.ID)
	b = appendJSONString(append(b, `,"username":`...), u.Username)
	b = appendJSONString(append(b, `,"name":`...), u.Name)
	b = appendJSONString(append(b, `,"state":`...), u.State)
	b = strconv.AppendBool(append(b, `,"locked":`...), u.Locked)
	b = appendStringPtr(append(b, `,"avatar_url":`...), u.AvatarURL)
	b = appendJSONString(append(b, `,"web_url":`...), u.WebURL)
	return append(b, '}')
}

func appendUserPtr(b []byte, u *UserBasic) []byte {
	if u == nil {
		return append(b, "null"...)
	}
	return appendUser(b, u)
}

func appendUsers(b []byte, us []UserBasic) []byte {
	if us == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range us {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUser(b, &us[i])
	}
	return append(b, ']')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

func appendBoolPtr(b []byte, v *bool) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendBool(b, *v)
}

// appendJSONString is json.Marshal's string encoding (HTML escaping on).
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s, true) }

// appendProject appends p encoded exactly as json.Marshal encodes it (a
// test holds the two to the same bytes). ok is false for what it leaves
// to json.Marshal: shared groups and statistics. A lazy dataset encodes
// every project a list shows afresh.
func appendProject(b []byte, p *Project) ([]byte, bool) {
	if len(p.SharedWithGroups) > 0 || p.SharedWithGroups == nil || p.Statistics != nil {
		return b, false
	}
	b = appendKeyInt(b, `{"id":`, p.ID)
	b = appendStringPtr(append(b, `,"description":`...), p.Description)
	b = appendJSONString(append(b, `,"name":`...), p.Name)
	b = appendJSONString(append(b, `,"name_with_namespace":`...), p.NameWithNamespace)
	b = appendJSONString(append(b, `,"path":`...), p.Path)
	b = appendJSONString(append(b, `,"path_with_namespace":`...), p.PathWithNamespace)
	b = appendTime(append(b, `,"created_at":`...), p.CreatedAt)
	b = appendTime(append(b, `,"updated_at":`...), p.UpdatedAt)
	b = appendStringPtr(append(b, `,"default_branch":`...), p.DefaultBranch)
	b = appendStrings(append(b, `,"tag_list":`...), p.TagList)
	b = appendStrings(append(b, `,"topics":`...), p.Topics)
	b = appendJSONString(append(b, `,"ssh_url_to_repo":`...), p.SSHURLToRepo)
	b = appendJSONString(append(b, `,"http_url_to_repo":`...), p.HTTPURLToRepo)
	b = appendJSONString(append(b, `,"web_url":`...), p.WebURL)
	b = appendStringPtr(append(b, `,"readme_url":`...), p.ReadmeURL)
	b = appendKeyInt(b, `,"forks_count":`, p.ForksCount)
	b = appendStringPtr(append(b, `,"avatar_url":`...), p.AvatarURL)
	b = appendKeyInt(b, `,"star_count":`, p.StarCount)
	b = appendTime(append(b, `,"last_activity_at":`...), p.LastActivityAt)
	ns := &p.Namespace
	b = appendKeyInt(b, `,"namespace":{"id":`, ns.ID)
	b = appendJSONString(append(b, `,"name":`...), ns.Name)
	b = appendJSONString(append(b, `,"path":`...), ns.Path)
	b = appendJSONString(append(b, `,"kind":`...), ns.Kind)
	b = appendJSONString(append(b, `,"full_path":`...), ns.FullPath)
	b = append(b, `,"parent_id":`...)
	if ns.ParentID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*ns.ParentID), 10)
	}
	b = appendStringPtr(append(b, `,"avatar_url":`...), ns.AvatarURL)
	b = appendJSONString(append(b, `,"web_url":`...), ns.WebURL)
	l := &p.Links
	b = appendJSONString(append(b, `},"_links":{"self":`...), l.Self)
	b = appendJSONString(append(b, `,"issues":`...), l.Issues)
	b = appendJSONString(append(b, `,"merge_requests":`...), l.MergeRequests)
	b = appendJSONString(append(b, `,"repo_branches":`...), l.RepoBranches)
	b = appendJSONString(append(b, `,"labels":`...), l.Labels)
	b = appendJSONString(append(b, `,"events":`...), l.Events)
	b = appendJSONString(append(b, `,"members":`...), l.Members)
	b = appendJSONString(append(b, `,"cluster_agents":`...), l.ClusterAgents)
	b = strconv.AppendBool(append(b, `},"empty_repo":`...), p.EmptyRepo)
	b = strconv.AppendBool(append(b, `,"archived":`...), p.Archived)
	b = appendJSONString(append(b, `,"visibility":`...), p.Visibility)
	if p.Owner != nil {
		b = appendUser(append(b, `,"owner":`...), p.Owner)
	}
	b = strconv.AppendBool(append(b, `,"issues_enabled":`...), p.IssuesEnabled)
	b = strconv.AppendBool(append(b, `,"merge_requests_enabled":`...), p.MergeRequestsEnabled)
	b = strconv.AppendBool(append(b, `,"wiki_enabled":`...), p.WikiEnabled)
	b = strconv.AppendBool(append(b, `,"jobs_enabled":`...), p.JobsEnabled)
	b = strconv.AppendBool(append(b, `,"snippets_enabled":`...), p.SnippetsEnabled)
	b = strconv.AppendBool(append(b, `,"container_registry_enabled":`...), p.ContainerRegistryEnabled)
	b = appendJSONString(append(b, `,"issues_access_level":`...), p.IssuesAccessLevel)
	b = appendJSONString(append(b, `,"repository_access_level":`...), p.RepositoryAccessLevel)
	b = appendJSONString(append(b, `,"merge_requests_access_level":`...), p.MergeRequestsAccessLevel)
	b = appendJSONString(append(b, `,"builds_access_level":`...), p.BuildsAccessLevel)
	b = appendKeyInt(b, `,"creator_id":`, p.CreatorID)
	b = appendJSONString(append(b, `,"import_status":`...), p.ImportStatus)
	b = appendKeyInt(b, `,"open_issues_count":`, p.OpenIssuesCount)
	b = appendKeyInt(b, `,"ci_default_git_depth":`, p.CIDefaultGitDepth)
	b = strconv.AppendBool(append(b, `,"public_jobs":`...), p.PublicJobs)
	b = append(b, `,"shared_with_groups":[]`...)
	b = strconv.AppendBool(append(b, `,"only_allow_merge_if_pipeline_succeeds":`...), p.OnlyAllowMergeIfPipelineSucceeds)
	b = strconv.AppendBool(append(b, `,"request_access_enabled":`...), p.RequestAccessEnabled)
	b = appendJSONString(append(b, `,"merge_method":`...), p.MergeMethod)
	b = appendJSONString(append(b, `,"squash_option":`...), p.SquashOption)
	b = appendStringPtr(append(b, `,"marked_for_deletion_at":`...), p.MarkedForDeletionAt)
	b = appendStringPtr(append(b, `,"marked_for_deletion_on":`...), p.MarkedForDeletionOn)
	return append(b, '}'), true
}

func appendStrings(b []byte, ss []string) []byte { return jsonenc.AppendStrings(b, ss, true) }

// appendMember appends m encoded exactly as json.Marshal encodes it (a
// test holds the two to the same bytes): member lists are the benchmark
// resync's most frequent request.
func appendMember(b []byte, m *Member) []byte {
	b = appendKeyInt(b, `{"id":`, m.ID)
	b = appendJSONString(append(b, `,"username":`...), m.Username)
	b = appendJSONString(append(b, `,"name":`...), m.Name)
	b = appendJSONString(append(b, `,"state":`...), m.State)
	b = strconv.AppendBool(append(b, `,"locked":`...), m.Locked)
	b = appendStringPtr(append(b, `,"avatar_url":`...), m.AvatarURL)
	b = appendJSONString(append(b, `,"web_url":`...), m.WebURL)
	b = appendKeyInt(b, `,"access_level":`, m.AccessLevel)
	b = appendTime(append(b, `,"created_at":`...), m.CreatedAt)
	b = appendUser(append(b, `,"created_by":`...), &m.CreatedBy)
	b = appendStringPtr(append(b, `,"expires_at":`...), m.ExpiresAt)
	if m.Email != "" {
		b = appendJSONString(append(b, `,"email":`...), m.Email)
	}
	b = appendJSONString(append(b, `,"membership_state":`...), m.MembershipState)
	if m.Bot != nil {
		b = strconv.AppendBool(append(b, `,"bot":`...), *m.Bot)
	}
	return append(b, '}')
}
