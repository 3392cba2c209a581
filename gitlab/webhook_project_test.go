package gitlab

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oceankit/oceankit/gitlab/gitlabtest"
)

// Live events of projects, groups and their members (webhook_project.go).

func TestWebhookProject(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "project")
	e.settle(t)
	p := e.entity("whProject", whProject)
	require.NotNil(t, p, "project_create creates the project")
	assert.Equal(t, "zesty-river", p["name"])
	assert.Equal(t, true, p["hasReadme"], "included files are fetched as the selector asks")
	assert.Positive(t, p["languages"], "languages are fetched as the selector asks (gitlab-v2 drops them on push)")

	// A push to the default branch refetches the project.
	_, err := e.ds.UpdateProject(strconv.Itoa(whProjectID), func(p *gitlabtest.Project) { p.Name = "Zesty River" })
	require.NoError(t, err)
	e.send(t, "push", whSet("refs/heads/main", "ref"))
	e.settle(t)
	assert.Equal(t, "Zesty River", e.entity("whProject", whProject)["name"])

	// A push to another branch does not concern the project.
	_, err = e.ds.UpdateProject(strconv.Itoa(whProjectID), func(p *gitlabtest.Project) { p.Name = "Renamed Again" })
	require.NoError(t, err)
	e.send(t, "push") // develop
	e.settle(t)
	assert.Equal(t, "Zesty River", e.entity("whProject", whProject)["name"])

	// Archiving under includeOnlyActiveProjects is covered by the gate;
	// here the project is destroyed. GitLab renames it on delayed deletion.
	require.NoError(t, e.ds.DeleteProject(strconv.Itoa(whProjectID)))
	e.send(t, "project", whSet("project_destroy", "event_name"), whSet(whProject+"-deleted-1", "path_with_namespace"))
	e.settle(t)
	assert.Nil(t, e.entity("whProject", whProject), "project_destroy deletes the project")
}

func TestWebhookProjectWithMembers(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	require.NoError(t, e.ds.AddProjectMember(whProjectID, whUserID, gitlabtest.MaintainerAccess))
	e.send(t, "project_member")
	e.settle(t)
	p := e.entity("whProjectMembers", whProject)
	require.NotNil(t, p)
	assert.Contains(t, p["members"], whUser)

	require.NoError(t, e.ds.RemoveProjectMember(whProjectID, whUserID))
	e.send(t, "project_member", whSet("user_remove_from_team", "event_name"))
	e.settle(t)
	assert.NotContains(t, e.entity("whProjectMembers", whProject)["members"], whUser)

	require.NoError(t, e.ds.DeleteProject(strconv.Itoa(whProjectID)))
	e.send(t, "project", whSet("project_destroy", "event_name"))
	e.settle(t)
	assert.Nil(t, e.entity("whProjectMembers", whProject))
}

func TestWebhookGroup(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	e.send(t, "subgroup")
	e.settle(t)
	require.NotNil(t, e.entity("whGroup", "amber-falcon/harbor-team"), "subgroup_create creates the group")
	require.NotNil(t, e.entity("whGroupMembers", "amber-falcon/harbor-team"), "and the group with its members")

	_, err := e.ds.UpdateGroup(strconv.Itoa(whSubgroupID), func(g *gitlabtest.Group) { g.Name = "Harbor Team" })
	require.NoError(t, err)
	e.send(t, "subgroup")
	e.settle(t)
	assert.Equal(t, "Harbor Team", e.entity("whGroup", "amber-falcon/harbor-team")["name"])

	require.NoError(t, e.ds.DeleteGroup(strconv.Itoa(whSubgroupID)))
	e.send(t, "subgroup", whSet("subgroup_destroy", "event_name"))
	e.settle(t)
	assert.Nil(t, e.entity("whGroup", "amber-falcon/harbor-team"), "subgroup_destroy deletes the group")
	assert.Nil(t, e.entity("whGroupMembers", "amber-falcon/harbor-team"))
}

func TestWebhookMembers(t *testing.T) {
	t.Parallel()
	e := newWHEnv(t, whOpts{})
	u, err := e.ds.CreateUser("hedy.lamarr", "Hedy Lamarr", false)
	require.NoError(t, err)
	event := func(name string) []func(map[string]any) {
		return []func(map[string]any){whSet(name, "event_name"), whSet(float64(u.ID), "user_id"), whSet(u.Username, "user_username")}
	}

	require.NoError(t, e.ds.AddGroupMember(whGroupID, u.ID, gitlabtest.DeveloperAccess))
	e.send(t, "member", event("user_add_to_group")...)
	e.settle(t)
	m := e.entity("whMember", u.Username)
	require.NotNil(t, m, "user_add_to_group creates the member")
	assert.EqualValues(t, gitlabtest.DeveloperAccess, m["access"])
	assert.Contains(t, e.entity("whGroupMembers", "amber-falcon")["members"], u.Username, "and lists it in its group")

	require.NoError(t, e.ds.AddGroupMember(whGroupID, u.ID, gitlabtest.MaintainerAccess))
	e.send(t, "member", event("user_update_for_group")...)
	e.settle(t)
	assert.EqualValues(t, gitlabtest.MaintainerAccess, e.entity("whMember", u.Username)["access"])

	// Leaving one group keeps a user who is a member of another.
	require.NoError(t, e.ds.AddGroupMember(whSubgroupID, u.ID, gitlabtest.ReporterAccess))
	require.NoError(t, e.ds.RemoveGroupMember(whGroupID, u.ID))
	e.send(t, "member", event("user_remove_from_group")...)
	e.settle(t)
	m = e.entity("whMember", u.Username)
	require.NotNil(t, m, "still a member of amber-falcon/harbor-team")
	assert.EqualValues(t, gitlabtest.ReporterAccess, m["access"])
	assert.NotContains(t, e.entity("whGroupMembers", "amber-falcon")["members"], u.Username)

	// Leaving the last group deletes the member (the payload has
	// user_username, not username: the stub is in the member's shape).
	require.NoError(t, e.ds.RemoveGroupMember(whSubgroupID, u.ID))
	e.send(t, "member", append(event("user_remove_from_group"), whSet(float64(whSubgroupID), "group_id"))...)
	e.settle(t)
	assert.Nil(t, e.entity("whMember", u.Username), "a user in no group any more is deleted")

	// Bots are members the default selector leaves out.
	bot, err := e.ds.CreateUser("project_9_bot_0123abcd", "Bot", true)
	require.NoError(t, err)
	require.NoError(t, e.ds.AddGroupMember(whGroupID, bot.ID, gitlabtest.MaintainerAccess))
	e.send(t, "member", whSet("user_add_to_group", "event_name"), whSet(float64(bot.ID), "user_id"), whSet(bot.Username, "user_username"))
	e.settle(t)
	assert.Nil(t, e.entity("whMember", bot.Username), "bots are not created")
	assert.NotContains(t, e.entity("whGroupMembers", "amber-falcon")["members"], bot.Username)
}
